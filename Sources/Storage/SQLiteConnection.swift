import CSQLite
import ExportDomain
import Glibc

/// SQLITE_TRANSIENT is a macro the importer does not bring over.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection. Not shared between threads: each thread or process opens its own,
/// and WAL mode lets them read concurrently while one writes.
public final class SQLiteConnection: SQLConnection {
    public var backend: SQLBackend { .sqlite }
    let handle: OpaquePointer
    private var statementCache: [String: OpaquePointer] = [:]
    /// `synchronous` is NORMAL (an unflushed write transaction could not set it back).
    private var unflushed = false

    public init(path: String, busyTimeoutMilliseconds: Int) throws {
        _ = Self.configureLibrary
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw StorageError(code: rc, message: "\(message) (\(path))")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Int32(clamping: busyTimeoutMilliseconds))
        try switchToWAL(busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        // FULL: a committed write survives a power cut, not only a process crash.
        try execute("PRAGMA synchronous = FULL")
        try execute("PRAGMA foreign_keys = ON")
    }

    /// Switching a new database to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY
    /// at once, without its busy handler, while another process holds any lock; atr-fcgi and
    /// atr-scheduler starting together on a fresh database hit that. Retried within the timeout.
    private func switchToWAL(busyTimeoutMilliseconds: Int) throws {
        var waited = 0
        while true {
            do {
                // When the mode cannot be changed, the pragma may also just answer the old one.
                let mode = try query("PRAGMA journal_mode = WAL") { $0.text(0) ?? "" }.first
                if mode?.lowercased() == "wal" { return }
                guard waited < busyTimeoutMilliseconds else {
                    throw StorageError(code: SQLITE_BUSY, message: "cannot switch the database to WAL mode (journal mode \(mode ?? "unknown"))")
                }
            } catch let error as StorageError where error.isBusy && waited < busyTimeoutMilliseconds {}
            usleep(20_000)
            waited += 20
        }
    }

    /// Process-wide settings SQLite takes only before its first connection (run once: a static
    /// `let` is initialised exactly once, thread-safely).
    private static let configureLibrary: Void = {
        _ = atr_sqlite3_disable_memory_statistics()
    }()

    deinit {
        for statement in statementCache.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    public func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "error"
            sqlite3_free(error)
            throw StorageError(code: rc, message: message)
        }
    }

    /// A prepared statement, cached per SQL text, with parameters bound in order.
    public func statement(_ sql: String, _ parameters: [SQLValue] = []) throws -> Statement {
        let prepared: OpaquePointer
        if let cached = statementCache[sql] {
            prepared = cached
            sqlite3_reset(prepared)
            sqlite3_clear_bindings(prepared)
        } else {
            var raw: OpaquePointer?
            let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
            guard rc == SQLITE_OK, let raw else { throw lastError(rc) }
            statementCache[sql] = raw
            prepared = raw
        }
        let statement = Statement(handle: prepared, connection: self)
        for (index, parameter) in parameters.enumerated() {
            try statement.bind(parameter, at: Int32(index + 1))
        }
        return statement
    }

    /// Runs a statement that returns no rows.
    public func run(_ sql: String, _ parameters: [SQLValue]) throws {
        let statement = try self.statement(sql, parameters)
        defer { statement.reset() }
        while try statement.step() {}
    }

    /// Rows of a query, each mapped by `row`.
    public func query<T>(_ sql: String, _ parameters: [SQLValue], _ row: (any SQLRow) throws -> T) throws -> [T] {
        let statement = try self.statement(sql, parameters)
        defer { statement.reset() }
        var results: [T] = []
        while try statement.step() { results.append(try row(statement)) }
        return results
    }

    /// Rows of a query one at a time, never all in memory (the copy to PostgreSQL reads whole tables).
    public func forEachRow(_ sql: String, _ parameters: [SQLValue] = [], _ body: (any SQLRow) throws -> Void) throws {
        let statement = try self.statement(sql, parameters)
        defer { statement.reset() }
        while try statement.step() { try body(statement) }
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// `BEGIN IMMEDIATE` takes the write lock up front, so two writers never deadlock on an
    /// upgrade from a read lock; the busy timeout makes the second one wait.
    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        if unflushed {
            try run("PRAGMA synchronous = FULL")
            unflushed = false
        }
        return try transaction(beginning: "BEGIN IMMEDIATE", body)
    }

    /// `synchronous = NORMAL` for this one commit: in WAL mode the commit is not synced; the next
    /// synced commit or checkpoint syncs the log, this commit's frames with it. Set back to FULL
    /// afterwards; should that fail, before the next write transaction, which fails rather than
    /// commit unflushed.
    public func unflushedWriteTransaction<T>(_ body: () throws -> T) throws -> T {
        try run("PRAGMA synchronous = NORMAL")
        unflushed = true
        defer {
            if (try? run("PRAGMA synchronous = FULL")) != nil { unflushed = false }
        }
        return try transaction(beginning: "BEGIN IMMEDIATE", body)
    }

    /// A deferred transaction whose first read fixes the WAL snapshot.
    public func beginSnapshot() throws {
        try execute("BEGIN DEFERRED")
        _ = try query("SELECT count(*) FROM resources WHERE type = '' ") { $0.integer(0) }
    }

    public func endSnapshot() throws {
        try execute("COMMIT")
    }

    /// One `BEGIN`…`COMMIT` around the reads: each statement on its own takes and releases the
    /// WAL read lock under a mutex the worker threads of a process share (the contention showed
    /// in status-poll profiles: about three futex calls per poll).
    public func readTogether<T>(_ body: () throws -> T) throws -> T {
        try transaction(beginning: "BEGIN DEFERRED", body)
    }

    /// `begin`, then `body`: committed when it returns, rolled back when it throws. The three
    /// statements are prepared and cached like any other (`execute` would parse them each time).
    private func transaction<T>(beginning begin: String, _ body: () throws -> T) throws -> T {
        try run(begin)
        do {
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            try? run("ROLLBACK")
            throw error
        }
    }

    /// One host, one clock.
    public func leaseClockMilliseconds(hostMilliseconds: Int64) throws -> Int64 { hostMilliseconds }

    func lastError(_ rc: Int32) -> StorageError {
        StorageError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }
}

public final class Statement: SQLRow {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    func bind(_ value: SQLValue, at index: Int32) throws {
        let rc: Int32
        switch value {
        case .text(let text):
            // With its byte length: a C string would end at the first NUL, so `task%00x` would
            // find `task`.
            let bytes = Array(text.utf8) + [0]
            rc = bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    sqlite3_bind_text(handle, index, $0, Int32(buffer.count - 1), transient)
                }
            }
        case .integer(let number): rc = sqlite3_bind_int64(handle, index, number)
        case .blob(let bytes):
            rc = bytes.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
        case .null: rc = sqlite3_bind_null(handle, index)
        }
        guard rc == SQLITE_OK else { throw connection.lastError(rc) }
    }

    /// Ends the statement's read so it holds no snapshot open.
    public func reset() {
        sqlite3_reset(handle)
    }

    /// Advances to the next row; false when done.
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.lastError(rc)
        }
    }

    public func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: pointer)
    }

    public func integer(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
