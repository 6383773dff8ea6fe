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
    /// Newest first, deletions included, at most `limit`; empty when the resource was never stored.
    public func history(_ key: ResourceKey, limit: Int = Int.max) throws -> [ResourceVersion] {
        try connection.query(
            """
            SELECT version_id, last_updated, deleted, json FROM resources WHERE type = ? AND id = ?
            UNION ALL
            SELECT version_id, last_updated, deleted, json FROM resource_versions WHERE type = ? AND id = ?
            ORDER BY version_id DESC LIMIT ?
            """,
            [.type(key.type), .text(key.id), .type(key.type), .text(key.id), .int(limit)]
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

    /// Deletes versions superseded before `cutoff` (no longer current since then); current
    /// versions are never pruned. Returns how many.
    public func pruneHistory(supersededBefore cutoff: FHIRInstant) throws -> Int {
        try writeTransaction {
            try connection.run("DELETE FROM resource_versions WHERE superseded_at < ?", [.instant(cutoff)])
            return connection.changes
        }
    }
}
