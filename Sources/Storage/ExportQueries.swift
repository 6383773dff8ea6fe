import ExportDomain

/// The reads an export makes, all through the reference index so it never scans all resources.
extension Database {
    /// Starts a read snapshot: everything read until `endSnapshot` sees the database as of now,
    /// whatever other processes write meanwhile (snapshot isolation).
    public func beginSnapshot() throws {
        try connection.beginSnapshot()
        do {
            try createExportTables()
        } catch {
            // Never left inside a transaction that failed: every later statement would fail too.
            try? connection.endSnapshot()
            throw error
        }
    }

    private func createExportTables() throws {
        let dialect = connection.dialect
        let text = dialect.bytewiseText
        // SQLite: INTEGER PRIMARY KEY is the table's rowid, so the table is that one B-tree.
        let rowKey = dialect.backend == .sqlite ? "INTEGER" : "BIGINT"
        try connection.execute("CREATE TEMP TABLE IF NOT EXISTS export_seen_rows (resource_row \(rowKey) PRIMARY KEY)")
        try connection.execute("DELETE FROM \(temp).export_seen_rows")
        try connection.execute("CREATE TEMP TABLE IF NOT EXISTS export_members (earlier INTEGER NOT NULL, id \(text) NOT NULL, PRIMARY KEY (earlier, id)) \(dialect.withoutRowID)")
        try connection.execute("DELETE FROM \(temp).export_members")
    }

    public func endSnapshot() {
        try? connection.execute("DELETE FROM \(temp).export_seen_rows")
        try? connection.execute("DELETE FROM \(temp).export_members")
        try? connection.endSnapshot()
    }

    var temp: String { connection.dialect.temporarySchema }

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
            "SELECT version_id, last_updated FROM resources WHERE type = ? AND id = ? AND deleted = 0",
            [.type(key.type), .text(key.id)], { (Int($0.integer(0)), $0.instant(1)) }
        ).first else { return nil }
        return try blob(key, table: "resources", version: row.0, lastUpdated: row.1, windowSize: windowSize)
    }

    /// The version of `key` current just before `instant` (written before it: what is written at
    /// `instant` itself counts as changed since, as `_since` is inclusive), for reading piece by
    /// piece; nil when there was none then, it was a deletion, or it is no longer kept.
    public func resourceBlob(_ key: ResourceKey, currentBefore instant: FHIRInstant, windowSize: Int = 1 << 20) throws -> ResourceBlob? {
        let candidates = try connection.query(
            """
            SELECT 'resources', version_id, last_updated, deleted FROM resources WHERE type = ? AND id = ? AND last_updated < ?
            UNION ALL
            SELECT 'resource_versions', version_id, last_updated, deleted FROM resource_versions
                WHERE type = ? AND id = ? AND last_updated < ?
            ORDER BY 2 DESC LIMIT 1
            """,
            [.type(key.type), .text(key.id), .instant(instant), .type(key.type), .text(key.id), .instant(instant)]
        ) { (table: $0.text(0) ?? "", version: Int($0.integer(1)), lastUpdated: $0.instant(2), deleted: $0.integer(3) != 0) }
        guard let row = candidates.first, !row.deleted else { return nil }
        return try blob(key, table: row.table, version: row.version, lastUpdated: row.lastUpdated, windowSize: windowSize)
    }

    private func blob(_ key: ResourceKey, table: String, version: Int, lastUpdated: FHIRInstant, windowSize: Int) throws -> ResourceBlob {
        let reader: any BlobReader
        if let sqlite = connection as? SQLiteConnection {
            reader = try SQLiteBlobReader(sqlite, table: table, key: key, version: version)
        } else {
            reader = try SQLSliceReader(connection, table: table, key: key, version: version)
        }
        return ResourceBlob(reader: reader, lastUpdated: lastUpdated, windowSize: windowSize)
    }

    /// One statement per `inListLimit` members, padded to a power of two as the slice queries
    /// are (a handful of statement shapes): on PostgreSQL each statement is a round trip, and a
    /// `_since` export notes every member of the list. A repeated row changes nothing.
    public func noteMembers(_ patients: [ResourceKey], earlier: Bool) throws {
        for chunk in Self.inListChunks(patients) {
            let rows = Array(repeating: "(?, ?)", count: chunk.count).joined(separator: ", ")
            try connection.run("INSERT INTO \(temp).export_members (earlier, id) VALUES \(rows) ON CONFLICT DO NOTHING",
                               chunk.flatMap { [SQLValue.int(earlier ? 1 : 0), .text($0.id)] })
        }
    }

    /// The ids among `patients` noted as members of the Group as it stood at `_since`.
    public func earlierMemberIds(among patients: [ResourceKey]) throws -> Set<String> {
        var found = Set<String>()
        for chunk in Self.inListChunks(patients) {
            let ids = try connection.query(earlierMembersSQL(Self.placeholders(chunk.count)), chunk.map { .text($0.id) }) { $0.text(0) ?? "" }
            found.formUnion(ids)
        }
        return found
    }

    // Both use the primary key (earlier, id): `id = ?` alone scans the table, once per member
    // (a 1M-member `_since` export had done 121,665 members after 15 minutes). ExportSliceQueriesTests
    // checks the plans on SQLite.
    func earlierMembersSQL(_ placeholders: String) -> String {
        "SELECT id FROM \(temp).export_members WHERE earlier = 1 AND id IN (\(placeholders))"
    }

    var notedMemberSQL: String {
        "SELECT earlier FROM \(temp).export_members WHERE earlier IN (0, 1) AND id = ?"
    }

    public func notedMember(_ patient: ResourceKey) throws -> (earlier: Bool, current: Bool) {
        let flags = try connection.query(notedMemberSQL, [.text(patient.id)]) { $0.integer(0) }
        return (flags.contains(1), flags.contains(0))
    }

    public func forEachDepartedMember(_ body: (ResourceKey) throws -> Void) throws {
        let departed = try connection.query(
            "SELECT id FROM \(temp).export_members e WHERE earlier = 1 AND NOT EXISTS (SELECT 1 FROM \(temp).export_members c WHERE c.earlier = 0 AND c.id = e.id) ORDER BY id"
        ) { ResourceKey(type: "Patient", id: $0.text(0) ?? "") }
        for patient in departed { try body(patient) }
    }

    public func forEachDeletion(since: FHIRInstant, types: [ResourceType], _ body: (ResourceKey, [UInt8]?) throws -> Void) throws {
        guard !types.isEmpty else { return }
        let placeholders = Array(repeating: "?", count: types.count).joined(separator: ", ")
        let deleted = try connection.query(
            "SELECT type, id, version_id FROM resources WHERE deleted = 1 AND last_updated >= ? AND type IN (\(placeholders)) ORDER BY type, id",
            [.instant(since)] + types.map { .type($0) }
        ) { (ResourceKey(type: ResourceType(rawValue: $0.text(0) ?? ""), id: $0.text(1) ?? ""), Int($0.integer(2))) }
        for (key, version) in deleted {
            let before = try connection.query(
                "SELECT json FROM resource_versions WHERE type = ? AND id = ? AND version_id = ? AND deleted = 0",
                [.type(key.type), .text(key.id), .int(version - 1)]
            ) { $0.blob(0) }.first
            try body(key, before)
        }
    }

    /// Resources linked to `target` as `link` says (type and reference paths), in id order.
    /// `INDEXED BY`: left to itself, SQLite walks the primary key (to avoid sorting) through every
    /// `sourceType` row, which made an export quadratic in the group's size.
    public func referencing(_ target: ResourceKey, _ link: MemberLink) throws -> [ResourceKey] {
        let sourceType = link.type
        let placeholders = Array(repeating: "?", count: link.paths.count).joined(separator: ", ")
        return try connection.query(
            """
            SELECT DISTINCT source_id FROM refs \(connection.dialect.indexedBy("refs_by_target"))
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
