import CPostgreSQL
import ExportDomain
import Glibc

/// The advisory lock every write transaction takes first, so PostgreSQL writers take turns as
/// SQLite's do: the stores' read-then-write steps (version checks, per-client task counts, task
/// claims) stay correct under READ COMMITTED, without serialization retries. Reads never wait.
private let writeLockKey: Int64 = 0x4154_525F_5752  // "ATR_WR"

/// One libpq connection. libpq is synchronous and a `PGconn` is not thread-safe: each thread
/// or process opens its own, as with SQLite. Statements are prepared once per SQL text and
/// parameter types, parameters are always bound (binary), and results come back binary.
public final class PostgreSQLConnection: SQLConnection {
    public var backend: SQLBackend { .postgresql }
    private let handle: OpaquePointer
    private let lockTimeoutMilliseconds: Int
    private var prepared: [String: String] = [:]
    private static let preparedLimit = 500
    private var inTransaction = false
    public private(set) var changes = 0

    /// `connectionString` in libpq's syntax (`host=… dbname=… user=…`, or a `postgresql://` URI);
    /// `password`, when given, is passed beside it so it never has to be written into it.
    public init(connectionString: String, password: String?, lockTimeoutMilliseconds: Int) throws {
        var pairs = [("dbname", connectionString), ("fallback_application_name", "atr-export")]
        if let password { pairs.append(("password", password)) }
        let keywords = pairs.map { strdup($0.0) } + [nil]
        let values = pairs.map { strdup($0.1) } + [nil]
        defer { (keywords + values).forEach { free($0) } }
        let connection = keywords.map { UnsafePointer($0) }.withUnsafeBufferPointer { keywordPointers in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointers in
                // expand_dbname: the dbname value is itself a connection string.
                PQconnectdbParams(keywordPointers.baseAddress, valuePointers.baseAddress, 1)
            }
        }
        guard let connection else { throw StorageError(sqlState: nil, message: "out of memory connecting to PostgreSQL") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw StorageError(sqlState: "08001", message: "cannot connect: \(message)")
        }
        handle = connection
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        // Notices (e.g. "relation already exists, skipping") would go to stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        try configureSession()
    }

    deinit {
        PQfinish(handle)
    }

    /// A wait for the write lock ends after the busy timeout, as SQLite's does (55P03: 503).
    private func configureSession() throws {
        try execute("SET lock_timeout = \(max(lockTimeoutMilliseconds, 1)); SET client_min_messages = warning; SET TIME ZONE 'UTC'")
    }

    /// A connection the server dropped (restart, failover) is opened again, but never inside a
    /// transaction: what the transaction did is gone, so its error goes to the caller.
    private func reconnectIfBroken() throws {
        guard PQstatus(handle) != CONNECTION_OK, !inTransaction else { return }
        PQreset(handle)
        prepared = [:]
        guard PQstatus(handle) == CONNECTION_OK else {
            throw StorageError(sqlState: "08006", message: "connection lost: \(Self.trimmed(PQerrorMessage(handle)))")
        }
        try configureSession()
    }

    public func execute(_ sql: String) throws {
        try reconnectIfBroken()
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result)
    }

    public func run(_ sql: String, _ parameters: [SQLValue]) throws {
        let result = try perform(sql, parameters)
        defer { PQclear(result) }
        changes = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    public func query<T>(_ sql: String, _ parameters: [SQLValue], _ row: (any SQLRow) throws -> T) throws -> [T] {
        let result = try perform(sql, parameters)
        defer { PQclear(result) }
        var rows: [T] = []
        let count = PQntuples(result)
        rows.reserveCapacity(Int(count))
        for index in 0..<count { rows.append(try row(PostgreSQLRow(result: result, row: index))) }
        return rows
    }

    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        inTransaction = true
        defer { inTransaction = false }
        do {
            try run("SELECT pg_advisory_xact_lock(?)", [.integer(writeLockKey)])
            let result = try body()
            try commit()
            return result
        } catch {
            _ = PQexec(handle, "ROLLBACK").map { PQclear($0) }
            throw error
        }
    }

    /// `synchronous_commit = off` for this transaction only (`SET LOCAL`): the server acknowledges
    /// the commit before its WAL is flushed.
    public func unflushedWriteTransaction<T>(_ body: () throws -> T) throws -> T {
        try writeTransaction {
            try execute("SET LOCAL synchronous_commit = off")
            return try body()
        }
    }

    /// REPEATABLE READ: every read of the transaction sees the snapshot of its first statement.
    public func beginSnapshot() throws {
        try execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        inTransaction = true
    }

    public func endSnapshot() throws {
        defer { inTransaction = false }
        try commit()
    }

    /// As they are: `BEGIN` and `COMMIT` would be two round trips more, and each statement
    /// already sees a consistent snapshot.
    public func readTogether<T>(_ body: () throws -> T) throws -> T { try body() }

    public func leaseClockMilliseconds(hostMilliseconds: Int64) throws -> Int64 {
        try query("SELECT CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)") { $0.integer(0) }.first
            ?? hostMilliseconds
    }

    /// Waits up to `milliseconds` for a notification on a channel this connection LISTENs to
    /// (`relisten` runs again after a reconnect). True when one came, or when the connection was
    /// lost and opened again: notifications may have been missed meanwhile.
    public func awaitNotification(milliseconds: Int32, relisten: String) throws -> Bool {
        if PQstatus(handle) != CONNECTION_OK {
            try reconnectIfBroken()
            try execute(relisten)
            return true
        }
        if drainNotifications() { return true }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, milliseconds)
        guard ready > 0 else { return false }
        guard PQconsumeInput(handle) == 1 else {
            try reconnectIfBroken()
            try execute(relisten)
            return true
        }
        return drainNotifications()
    }

    private func drainNotifications() -> Bool {
        var received = false
        while let notification = PQnotifies(handle) {
            PQfreemem(notification)
            received = true
        }
        return received
    }

    /// COMMIT of a transaction an error aborted answers ROLLBACK, not an error.
    private func commit() throws {
        let result = PQexec(handle, "COMMIT")
        defer { PQclear(result) }
        try check(result)
        if let status = PQcmdStatus(result), String(cString: status) == "ROLLBACK" {
            throw StorageError(sqlState: "40000", message: "the transaction was rolled back")
        }
    }

    private func perform(_ sql: String, _ parameters: [SQLValue]) throws -> OpaquePointer {
        for case .text(let text) in parameters where text.utf8.contains(0) {
            throw StorageError(sqlState: "22021", message: "a text value holds a NUL character, which PostgreSQL cannot store or compare")
        }
        try reconnectIfBroken()
        let types = parameters.map(Self.typeOID)
        let name = try preparedName(sql, types: types)
        let buffers = parameters.map(Self.binaryValue)
        let pointers: [UnsafeMutablePointer<CChar>?] = buffers.map { bytes in
            guard let bytes else { return nil }
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { UnsafeMutableRawPointer(pointer).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            return pointer
        }
        defer { pointers.forEach { $0?.deallocate() } }
        let lengths = buffers.map { Int32($0?.count ?? 0) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        let result = pointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
            PQexecPrepared(handle, name, Int32(parameters.count), values.baseAddress, lengths, formats, 1)
        }
        guard let result else { throw StorageError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle))) }
        do {
            try check(result)
        } catch {
            PQclear(result)
            throw error
        }
        return result
    }

    private func preparedName(_ sql: String, types: [Oid]) throws -> String {
        let key = sql + "\u{1}" + types.map(String.init).joined(separator: ",")
        if let name = prepared[key] { return name }
        // Each prepared statement holds server memory for the connection's life; SQL built with
        // a varying number of placeholders (IN lists, search criteria) has many shapes.
        if prepared.count >= Self.preparedLimit, !inTransaction {
            try execute("DEALLOCATE ALL")
            prepared = [:]
        }
        let name = "atr_\(prepared.count + 1)"
        let result = PQprepare(handle, name, Self.numberedPlaceholders(sql), Int32(types.count), types)
        defer { PQclear(result) }
        try check(result)
        prepared[key] = name
        return name
    }

    private func check(_ result: OpaquePointer?) throws {
        guard let result else { throw StorageError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle))) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw StorageError(sqlState: state, message: Self.trimmed(PQresultErrorMessage(result)))
        }
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown error" }
        let text = String(cString: message)
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
    }

    /// `?` → `$1`, `$2`, … outside string literals and quoted identifiers.
    static func numberedPlaceholders(_ sql: String) -> String {
        var output = ""
        var number = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                output.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                output.append(character)
            } else if character == "?" {
                number += 1
                output += "$\(number)"
            } else {
                output.append(character)
            }
        }
        return output
    }

    private static func typeOID(_ value: SQLValue) -> Oid {
        switch value {
        case .text: return 25  // text
        case .integer: return 20  // int8
        case .blob: return 17  // bytea
        case .null: return 0  // inferred from where it is used
        }
    }

    private static func binaryValue(_ value: SQLValue) -> [UInt8]? {
        switch value {
        case .text(let text): return Array(text.utf8)
        case .integer(let number): return withUnsafeBytes(of: number.bigEndian) { Array($0) }
        case .blob(let bytes): return bytes
        case .null: return nil
        }
    }
}

/// A row of a binary-format result, decoded by the column's type.
struct PostgreSQLRow: SQLRow {
    let result: OpaquePointer
    let row: Int32

    private func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
        let count = Int(PQgetlength(result, row, column))
        guard count > 0, let value = PQgetvalue(result, row, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: value, count: count)
    }

    func isNull(_ column: Int32) -> Bool {
        PQgetisnull(result, row, column) == 1
    }

    func integer(_ column: Int32) -> Int64 {
        let value = bytes(column)
        let type = PQftype(result, column)
        switch type {
        // int8, int4, int2, bool: big-endian two's complement; tid: block (4 bytes) and line
        // (2 bytes), unsigned, read as one number block << 16 | line.
        case 20, 23, 21, 16, 27:
            guard !value.isEmpty else { return 0 }
            var number: Int64 = type != 27 && value[0] & 0x80 != 0 ? -1 : 0
            for byte in value { number = (number << 8) | Int64(byte) }
            return number
        default:
            return Int64(String(decoding: value, as: UTF8.self)) ?? 0
        }
    }

    func text(_ column: Int32) -> String? {
        guard !isNull(column) else { return nil }
        switch PQftype(result, column) {
        case 20, 23, 21, 16: return String(integer(column))
        default: return String(decoding: bytes(column), as: UTF8.self)
        }
    }

    func blob(_ column: Int32) -> [UInt8] {
        Array(bytes(column))
    }
}
