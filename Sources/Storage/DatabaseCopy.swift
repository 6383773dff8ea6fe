import ExportDomain

/// Copies every row of an SQLite database into an empty PostgreSQL one (`atrctl db
/// migrate-to-postgres`): resources with all their versions and indexes, tasks, clients, used
/// assertions and the audit trail, ids included. One target transaction: a copy that fails
/// leaves the target as empty as it was.
extension Database {
    /// Rows copied per table, in copy order; each count is checked against the target afterwards.
    /// `statisticsNotRefreshed` hears why the target's planner statistics could not be gathered
    /// after the copy committed (not a failure of the copy).
    public func copyEverything(to target: Database, progress: (String, Int) -> Void = { _, _ in },
                               statisticsNotRefreshed: (Error) -> Void = { _ in }) throws -> [(table: String, rows: Int)] {
        guard let source = connection as? SQLiteConnection else {
            throw StorageError(sqlState: "0A000", message: "the source of a copy is an SQLite database")
        }
        try requireCurrentSchema()
        try target.migrate()
        try target.requireCurrentSchema()
        let nonEmpty = try CopiedTable.all.filter { try target.rowCount($0.name) > 0 }.map(\.name)
        guard nonEmpty.isEmpty else {
            throw StorageError(sqlState: "55000", message: "the target database is not empty (rows in \(nonEmpty.joined(separator: ", "))); a copy goes into an empty database only")
        }
        var copied: [(table: String, rows: Int)] = []
        try target.writeTransaction {
            for table in CopiedTable.all {
                let columns = table.columns.map(\.name).joined(separator: ", ")
                let placeholders = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
                let insert = "INSERT INTO \(table.name) (\(columns)) VALUES (\(placeholders))"
                var rows = 0
                try source.forEachRow("SELECT \(columns) FROM \(table.name) ORDER BY \(table.order)") { row in
                    try target.connection.run(insert, table.values(of: row))
                    rows += 1
                    if rows % 10_000 == 0 { progress(table.name, rows) }
                }
                copied.append((table.name, rows))
            }
            // Explicit ids do not move the identity column on: the next record must follow them.
            try target.connection.execute(
                "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), COALESCE((SELECT max(id) FROM audit_events), 0) + 1, false)")
        }
        for (table, rows) in copied {
            let found = try target.rowCount(table)
            guard found == rows else {
                throw StorageError(sqlState: "XX000", message: "\(table): \(rows) rows copied but \(found) found in the target")
            }
        }
        // The copy has committed: statistics only speed up the first exports (autovacuum gathers
        // them later too), so failing to gather them must not report the copy as failed.
        do {
            try target.refreshPlannerStatistics()
        } catch {
            statisticsNotRefreshed(error)
        }
        return copied
    }

    func rowCount(_ table: String) throws -> Int {
        try connection.query("SELECT count(*) FROM \(table)") { Int($0.integer(0)) }.first ?? 0
    }
}

/// A table as the copy reads and writes it: its columns with their kinds, in primary-key order.
struct CopiedTable {
    enum Kind { case text, integer, bytes }
    struct Column {
        var name: String
        var kind: Kind
    }

    var name: String
    var columns: [Column]
    var order: String

    init(_ name: String, order: String, _ columns: [(String, Kind)]) {
        self.name = name
        self.order = order
        self.columns = columns.map { Column(name: $0.0, kind: $0.1) }
    }

    func values(of row: any SQLRow) -> [SQLValue] {
        columns.enumerated().map { index, column in
            let position = Int32(index)
            guard !row.isNull(position) else { return .null }
            switch column.kind {
            case .text: return .text(row.text(position) ?? "")
            case .integer: return .integer(row.integer(position))
            case .bytes: return .blob(row.blob(position))
            }
        }
    }

    static let all: [CopiedTable] = [
        CopiedTable("resources", order: "type, id", [
            ("type", .text), ("id", .text), ("version_id", .integer), ("last_updated", .integer), ("deleted", .integer), ("json", .bytes),
        ]),
        CopiedTable("resource_versions", order: "type, id, version_id", [
            ("type", .text), ("id", .text), ("version_id", .integer), ("last_updated", .integer), ("deleted", .integer), ("json", .bytes),
            ("superseded_at", .integer),
        ]),
        CopiedTable("refs", order: "source_type, source_id, path, target_type, target_id", [
            ("source_type", .text), ("source_id", .text), ("path", .text), ("target_type", .text), ("target_id", .text),
        ]),
        CopiedTable("search_values", order: "type, id, parameter, value", [
            ("type", .text), ("id", .text), ("parameter", .text), ("system", .text), ("value", .text),
        ]),
        CopiedTable("tasks", order: "id", [
            ("id", .text), ("client_id", .text), ("state", .text), ("request", .bytes), ("created_at", .integer),
            ("transaction_time", .integer), ("lease_owner", .text), ("lease_expires_at", .integer), ("attempts", .integer),
            ("progress", .text), ("manifest", .bytes), ("outcome", .bytes), ("finished_at", .integer),
        ]),
        CopiedTable("clients", order: "id", [
            ("id", .text), ("jwks", .bytes), ("jwks_url", .text), ("scopes", .text), ("groups", .text), ("role", .text),
            ("created_at", .integer),
        ]),
        CopiedTable("used_assertions", order: "client_id, jti", [("client_id", .text), ("jti", .text), ("expires_at", .integer)]),
        CopiedTable("audit_events", order: "id", [
            ("id", .integer), ("recorded", .integer), ("action", .text), ("outcome", .text), ("client_id", .text),
            ("address", .text), ("details", .text),
        ]),
        CopiedTable("audit_entities", order: "event_id, position", [
            ("event_id", .integer), ("kind", .text), ("value", .text), ("position", .integer),
        ]),
    ]
}
