import ExportDomain

/// One stored version of a resource: its content, or a deletion.
public struct ResourceVersion: Sendable {
    public var key: ResourceKey
    public var versionId: Int
    public var lastUpdated: FHIRInstant
    /// nil for a deletion.
    public var json: [UInt8]?
}

/// Every version of a resource: the current one in `resources`, the superseded ones in
/// `resource_versions`.
extension Database {
    /// Newest first, deletions included; empty when the resource was never stored.
    public func history(_ key: ResourceKey) throws -> [ResourceVersion] {
        try connection.query(
            """
            SELECT version_id, last_updated, deleted, json FROM resources WHERE type = ? AND id = ?
            UNION ALL
            SELECT version_id, last_updated, deleted, json FROM resource_versions WHERE type = ? AND id = ?
            ORDER BY version_id DESC
            """,
            [.type(key.type), .text(key.id), .type(key.type), .text(key.id)]
        ) { row in
            ResourceVersion(key: key, versionId: Int(row.integer(0)), lastUpdated: row.instant(1),
                            json: row.integer(2) != 0 ? nil : row.blob(3))
        }
    }

    /// One version; nil when it is not kept (never written, or pruned).
    public func version(_ key: ResourceKey, _ versionId: Int) throws -> ResourceVersion? {
        try connection.query(
            """
            SELECT version_id, last_updated, deleted, json FROM resources WHERE type = ? AND id = ? AND version_id = ?
            UNION ALL
            SELECT version_id, last_updated, deleted, json FROM resource_versions WHERE type = ? AND id = ? AND version_id = ?
            """,
            [.type(key.type), .text(key.id), .int(versionId), .type(key.type), .text(key.id), .int(versionId)]
        ) { row in
            ResourceVersion(key: key, versionId: Int(row.integer(0)), lastUpdated: row.instant(1),
                            json: row.integer(2) != 0 ? nil : row.blob(3))
        }.first
    }

    /// The version that was current at `instant` (the newest written at or before it); nil
    /// when the resource did not exist yet or that version was pruned.
    public func version(_ key: ResourceKey, currentAt instant: FHIRInstant) throws -> ResourceVersion? {
        try connection.query(
            """
            SELECT version_id, last_updated, deleted, json FROM (
                SELECT version_id, last_updated, deleted, json FROM resources WHERE type = ? AND id = ? AND last_updated <= ?
                UNION ALL
                SELECT version_id, last_updated, deleted, json FROM resource_versions WHERE type = ? AND id = ? AND last_updated <= ?
            ) ORDER BY version_id DESC LIMIT 1
            """,
            [.type(key.type), .text(key.id), .instant(instant), .type(key.type), .text(key.id), .instant(instant)]
        ) { row in
            ResourceVersion(key: key, versionId: Int(row.integer(0)), lastUpdated: row.instant(1),
                            json: row.integer(2) != 0 ? nil : row.blob(3))
        }.first
    }

    /// Deletes superseded versions written before `cutoff`; current versions are never pruned.
    /// Returns how many.
    public func pruneHistory(writtenBefore cutoff: FHIRInstant) throws -> Int {
        try writeTransaction {
            try connection.run("DELETE FROM resource_versions WHERE last_updated < ?", [.instant(cutoff)])
            return connection.changes
        }
    }
}
