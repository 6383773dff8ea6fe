import CSQLite
import ExportDomain

/// The reads an export makes, all through the reference index so it never scans all resources.
extension Database {
    /// Starts a read snapshot: everything read until `endSnapshot` sees the database as of now,
    /// whatever other processes write meanwhile (WAL snapshot isolation).
    public func beginSnapshot() throws {
        try connection.execute("BEGIN DEFERRED")
        _ = try connection.query("SELECT count(*) FROM resources WHERE type = '' ") { $0.integer(0) }
        try connection.execute("CREATE TEMP TABLE IF NOT EXISTS export_seen (type TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (type, id)) WITHOUT ROWID")
        try connection.execute("DELETE FROM temp.export_seen")
    }

    public func endSnapshot() {
        try? connection.execute("DELETE FROM temp.export_seen")
        try? connection.execute("COMMIT")
    }

    /// Records that a resource is in this export; false when it already was (each resource once).
    /// Kept in a temporary table rather than in memory, so memory stays flat in the export's size.
    public func markExported(_ key: ResourceKey) throws -> Bool {
        try connection.run("INSERT OR IGNORE INTO temp.export_seen (type, id) VALUES (?, ?)", [.type(key.type), .text(key.id)])
        return connection.changes == 1
    }

    /// The current version's `meta.lastUpdated` and JSON, unless deleted or unknown.
    public func currentResource(_ key: ResourceKey) throws -> (lastUpdated: FHIRInstant, json: [UInt8])? {
        try connection.query(
            "SELECT last_updated, json FROM resources WHERE type = ? AND id = ? AND deleted = 0",
            [.type(key.type), .text(key.id)]
        ) { ($0.instant(0), $0.blob(1)) }.first
    }

    /// The current version's JSON for reading piece by piece (`ResourceBlob`); nil when
    /// deleted or unknown. Use it inside the snapshot.
    public func currentResourceBlob(_ key: ResourceKey, windowSize: Int = 1 << 20) throws -> ResourceBlob? {
        guard let row = try connection.query(
            "SELECT rowid, last_updated FROM resources WHERE type = ? AND id = ? AND deleted = 0",
            [.type(key.type), .text(key.id)], { ($0.integer(0), $0.instant(1)) }
        ).first else { return nil }
        var blob: OpaquePointer?
        let rc = sqlite3_blob_open(connection.handle, "main", "resources", "json", row.0, 0, &blob)
        guard rc == SQLITE_OK, let blob else {
            sqlite3_blob_close(blob)
            throw StorageError(code: rc, message: "cannot read \(key): \(String(cString: sqlite3_errmsg(connection.handle)))")
        }
        return ResourceBlob(handle: blob, lastUpdated: row.1, windowSize: windowSize)
    }

    /// Resources linked to `target` as `link` says (type and reference paths), in id order.
    /// `INDEXED BY`: left to itself, SQLite walks the primary key (to avoid sorting) through every
    /// `sourceType` row, which made an export quadratic in the group's size.
    public func referencing(_ target: ResourceKey, _ link: MemberLink) throws -> [ResourceKey] {
        let sourceType = link.type
        let placeholders = Array(repeating: "?", count: link.paths.count).joined(separator: ", ")
        return try connection.query(
            """
            SELECT DISTINCT source_id FROM refs INDEXED BY refs_by_target
            WHERE target_type = ? AND target_id = ? AND source_type = ? AND path IN (\(placeholders))
            ORDER BY source_id
            """,
            [.type(target.type), .text(target.id), .type(sourceType)] + link.paths.map { .text($0.rawValue) }
        ) { ResourceKey(type: sourceType, id: $0.text(0) ?? "") }
    }
}

extension Database {
    /// Resources that `source` points at through one of `paths`, of type `targetType`, in id order:
    /// the reverse of `referencing`, e.g. the Patients a Coverage belongs to.
    public func referenced(from source: ResourceKey, paths: [ReferencePath], targetType: ResourceType) throws -> [ResourceKey] {
        let placeholders = Array(repeating: "?", count: paths.count).joined(separator: ", ")
        return try connection.query(
            """
            SELECT DISTINCT target_id FROM refs
            WHERE source_type = ? AND source_id = ? AND path IN (\(placeholders)) AND target_type = ?
            ORDER BY target_id
            """,
            [.type(source.type), .text(source.id)] + paths.map { .text($0.rawValue) } + [.type(targetType)]
        ) { ResourceKey(type: targetType, id: $0.text(0) ?? "") }
    }
}
