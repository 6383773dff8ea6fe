import ExportDomain

/// The database engine behind a connection. The stores write one SQL for both where the two
/// agree, and ask `SQLDialect` for the few phrases where they differ.
public enum SQLBackend: String, Sendable {
    case sqlite, postgresql
}

/// One connection to the database, used by one thread at a time. SQL uses `?` placeholders,
/// bound in order; values are only ever bound, never spliced into the text.
public protocol SQLConnection: AnyObject {
    var backend: SQLBackend { get }

    /// Runs SQL without parameters (one or more statements).
    func execute(_ sql: String) throws

    /// Runs a statement that returns no rows.
    func run(_ sql: String, _ parameters: [SQLValue]) throws

    /// Rows of a query, each mapped by `row`.
    func query<T>(_ sql: String, _ parameters: [SQLValue], _ row: (any SQLRow) throws -> T) throws -> [T]

    /// Rows changed by the last `run`.
    var changes: Int { get }

    /// Runs `body` in a write transaction: one writer at a time, committed when `body` returns,
    /// rolled back when it throws.
    func writeTransaction<T>(_ body: () throws -> T) throws -> T

    /// A write transaction whose commit does not wait for the disk: visible to every connection
    /// and kept if the process dies, but a power cut or a crash of the host (or of the PostgreSQL
    /// server) may lose it. Only for writes a later one supersedes and whose loss is harmless
    /// (lease renewals and progress); the connection's other transactions stay flushed.
    func unflushedWriteTransaction<T>(_ body: () throws -> T) throws -> T

    /// Starts a read transaction whose reads all see the database as of its first read.
    func beginSnapshot() throws

    /// Ends the transaction `beginSnapshot` started.
    func endSnapshot() throws

    /// Runs `body`, which only reads, with its statements in one read transaction where that
    /// costs less than one transaction per statement.
    func readTogether<T>(_ body: () throws -> T) throws -> T

    /// The time leases are stamped with: on PostgreSQL the database's clock (nodes' clocks may
    /// disagree), on SQLite (one host) the caller's `hostMilliseconds`.
    func leaseClockMilliseconds(hostMilliseconds: Int64) throws -> Int64
}

extension SQLConnection {
    public func run(_ sql: String) throws { try run(sql, []) }

    public func query<T>(_ sql: String, _ row: (any SQLRow) throws -> T) throws -> [T] {
        try query(sql, [], row)
    }

    public var dialect: SQLDialect { SQLDialect(backend: backend) }
}

/// One row of a query's result, read by column number.
public protocol SQLRow {
    func text(_ column: Int32) -> String?
    func integer(_ column: Int32) -> Int64
    func isNull(_ column: Int32) -> Bool
    func blob(_ column: Int32) -> [UInt8]
}

extension SQLRow {
    public func instant(_ column: Int32) -> FHIRInstant {
        FHIRInstant(millisecondsSinceEpoch: integer(column))
    }
}

public enum SQLValue: Sendable {
    case text(String)
    case integer(Int64)
    case blob([UInt8])
    case null

    public static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }

    public static func type(_ value: ResourceType) -> SQLValue { .text(value.rawValue) }

    /// Every point in time is stored as INTEGER milliseconds since the Unix epoch.
    public static func instant(_ value: FHIRInstant) -> SQLValue { .integer(value.millisecondsSinceEpoch) }
}

/// The phrases SQLite and PostgreSQL spell differently.
public struct SQLDialect: Sendable {
    public var backend: SQLBackend

    /// `INDEXED BY` pins SQLite's planner to an index; PostgreSQL plans by its statistics.
    public func indexedBy(_ index: String) -> String {
        backend == .sqlite ? "INDEXED BY \(index)" : ""
    }

    /// The larger of two values (SQLite's two-argument `max`).
    public func greatest(_ a: String, _ b: String) -> String {
        backend == .sqlite ? "max(\(a), \(b))" : "GREATEST(\(a), \(b))"
    }

    /// A string member of a JSON object stored as bytes.
    public func jsonString(_ column: String, key: String) -> String {
        backend == .sqlite
            ? "json_extract(CAST(\(column) AS TEXT), '$.\(key)')"
            : "(convert_from(\(column), 'UTF8')::jsonb ->> '\(key)')"
    }

    /// The schema that holds the connection's temporary tables.
    public var temporarySchema: String { backend == .sqlite ? "temp" : "pg_temp" }

    /// Text that compares and sorts by its bytes (SQLite's only order for TEXT).
    public var bytewiseText: String { backend == .sqlite ? "TEXT" : "TEXT COLLATE \"C\"" }

    /// A table's trailing options for a table keyed only by its primary key.
    public var withoutRowID: String { backend == .sqlite ? "WITHOUT ROWID" : "" }
}

public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// SQLite's result code; 0 for a PostgreSQL error.
    public var code: Int32
    public var message: String
    /// PostgreSQL's SQLSTATE (e.g. `53100`); nil for SQLite.
    public var sqlState: String?

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public init(sqlState: String?, message: String) {
        self.code = 0
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String {
        if let sqlState { return "PostgreSQL error \(sqlState): \(message)" }
        return code == 0 ? "PostgreSQL: \(message)" : "SQLite error \(code): \(message)"
    }

    /// The database cannot take the request now, and may later: SQLite's lock held past the busy
    /// timeout; on PostgreSQL a lock or statement timeout, a serialization failure or deadlock,
    /// too many connections, a server shutting down or restarting, a lost connection.
    public var isBusy: Bool {
        if let sqlState {
            return ["55P03", "57014", "40001", "40P01", "53300", "57P01", "57P02", "57P03"].contains(sqlState)
                || sqlState.hasPrefix("08")
        }
        if code == 0 { return true }
        return code & 0xFF == 5 || code & 0xFF == 6  // SQLITE_BUSY, SQLITE_LOCKED
    }

    /// A text value held a NUL character: PostgreSQL's text cannot hold one (SQLite's can), so a
    /// request carrying one is refused (400) rather than looked up.
    public var isUnstorableText: Bool { sqlState == "22021" }

    /// The disk is full (SQLITE_FULL; PostgreSQL's `53100 disk_full`).
    public var isDiskFull: Bool {
        if let sqlState { return sqlState == "53100" }
        return code != 0 && code & 0xFF == 13
    }
}
