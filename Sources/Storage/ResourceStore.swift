import ExportDomain

public struct StoredResource: Sendable {
    public var key: ResourceKey
    public var versionId: Int
    public var lastUpdated: FHIRInstant
    public var json: [UInt8]
}

public enum ReadResult: Sendable {
    case found(StoredResource)
    case deleted(versionId: Int, lastUpdated: FHIRInstant)
    case missing
}

/// A compare-and-swap write found another version than the one it was computed from.
public struct VersionConflict: Error, Sendable, CustomStringConvertible {
    public var key: ResourceKey
    public var expected: Int
    public var found: Int?
    public var description: String { "\(key) is at version \(found.map(String.init) ?? "none"), not \(expected)" }
}

public enum DeleteResult: Sendable, Equatable {
    case deleted(versionId: Int)
    case alreadyDeleted
    case missing
}

/// Where the database is: an SQLite file, or a PostgreSQL server.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    /// `connectionString` in libpq's syntax; `password` beside it, read from a file.
    case postgresql(connectionString: String, password: String?)
}

/// Everything the server stores, behind one connection. Open one per thread or process.
public final class Database {
    public let connection: any SQLConnection
    public let location: DatabaseLocation
    /// References given as absolute URLs under this base count as local.
    public let baseURL: String

    /// Connects; the schema is neither created nor changed here (see `migrate`). A writer waits
    /// up to `busyTimeoutMilliseconds` for another to finish.
    public init(location: DatabaseLocation, busyTimeoutMilliseconds: Int, baseURL: String) throws {
        switch location {
        case .sqlite(let path):
            connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        case .postgresql(let connectionString, let password):
            connection = try PostgreSQLConnection(connectionString: connectionString, password: password,
                                                  lockTimeoutMilliseconds: busyTimeoutMilliseconds)
        }
        self.location = location
        self.baseURL = baseURL
    }

    public convenience init(path: String, busyTimeoutMilliseconds: Int, baseURL: String) throws {
        try self.init(location: .sqlite(path: path), busyTimeoutMilliseconds: busyTimeoutMilliseconds, baseURL: baseURL)
    }

    public var backend: SQLBackend { connection.backend }

    /// The schema version this build reads and writes.
    public static var schemaVersion: Int { Migrations.latest }

    /// Brings the schema up to this build's version. Returns the versions before and after.
    @discardableResult
    public func migrate() throws -> (from: Int, to: Int) {
        try Migrations.apply(to: connection)
    }

    /// Throws `SchemaVersionError` unless the file's schema is exactly this build's.
    public func requireCurrentSchema() throws {
        let version = try Migrations.version(of: connection)
        guard version == Migrations.latest else { throw SchemaVersionError(found: version, expected: Migrations.latest) }
    }

    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try connection.writeTransaction(body)
    }

    /// `body` only reads; its statements share one read transaction where that is cheaper.
    public func readTogether<T>(_ body: () throws -> T) throws -> T {
        try connection.readTogether(body)
    }

    public func read(_ key: ResourceKey) throws -> ReadResult {
        let rows = try connection.query(
            "SELECT version_id, last_updated, deleted, json FROM resources WHERE type = ? AND id = ?",
            [.type(key.type), .text(key.id)]
        ) { row in
            (Int(row.integer(0)), row.instant(1), row.integer(2) != 0, row.blob(3))
        }
        guard let (version, lastUpdated, deleted, json) = rows.first else { return .missing }
        if deleted { return .deleted(versionId: version, lastUpdated: lastUpdated) }
        return .found(StoredResource(key: key, versionId: version, lastUpdated: lastUpdated, json: json))
    }

    private func currentVersion(_ key: ResourceKey) throws -> (version: Int, deleted: Bool)? {
        try connection.query(
            "SELECT version_id, deleted FROM resources WHERE type = ? AND id = ?",
            [.type(key.type), .text(key.id)]
        ) { (Int($0.integer(0)), $0.integer(1) != 0) }.first
    }

    /// Creates or updates a resource as the next version, and re-indexes it.
    /// Call inside `writeTransaction` so the version read and the write are one step. With
    /// `expectedVersion`, the write happens only if that is still the current version
    /// (compare-and-swap: a concurrent change throws `VersionConflict` instead of being lost).
    public func put(_ resource: JSONObject, as key: ResourceKey, now: FHIRInstant,
                    expectedVersion: Int? = nil) throws -> (StoredResource, created: Bool) {
        let existing = try currentVersion(key)
        if let expectedVersion, existing?.version != expectedVersion || existing?.deleted == true {
            throw VersionConflict(key: key, expected: expectedVersion, found: existing?.version)
        }
        let version = (existing?.version ?? 0) + 1
        if existing != nil { try archiveCurrentVersion(key, supersededAt: now) }
        var stamped = resource
        ResourceInput.stamp(&stamped, id: key.id, versionId: version, lastUpdated: now)
        let json = JSONValue.object(stamped).serialized()
        try connection.run(
            """
            INSERT INTO resources (type, id, version_id, last_updated, deleted, json) VALUES (?, ?, ?, ?, 0, ?)
            ON CONFLICT (type, id) DO UPDATE SET version_id = excluded.version_id,
                last_updated = excluded.last_updated, deleted = 0, json = excluded.json
            """,
            [.type(key.type), .text(key.id), .int(version), .instant(now), .blob(json)]
        )
        try index(stamped, key: key)
        let stored = StoredResource(key: key, versionId: version, lastUpdated: now, json: json)
        return (stored, existing == nil || existing?.deleted == true)
    }

    /// Marks a resource deleted (a new version without content). Call inside `writeTransaction`.
    public func delete(_ key: ResourceKey, now: FHIRInstant) throws -> DeleteResult {
        guard let existing = try currentVersion(key) else { return .missing }
        if existing.deleted { return .alreadyDeleted }
        let version = existing.version + 1
        try archiveCurrentVersion(key, supersededAt: now)
        try connection.run(
            "UPDATE resources SET version_id = ?, last_updated = ?, deleted = 1, json = NULL WHERE type = ? AND id = ?",
            [.int(version), .instant(now), .type(key.type), .text(key.id)]
        )
        try removeIndex(key)
        return .deleted(versionId: version)
    }

    /// Keeps the version about to be superseded in `resource_versions` (history).
    private func archiveCurrentVersion(_ key: ResourceKey, supersededAt now: FHIRInstant) throws {
        try connection.run(
            """
            INSERT INTO resource_versions (type, id, version_id, last_updated, deleted, json, superseded_at)
            SELECT type, id, version_id, last_updated, deleted, json, ? FROM resources WHERE type = ? AND id = ?
            ON CONFLICT (type, id, version_id) DO UPDATE SET last_updated = excluded.last_updated,
                deleted = excluded.deleted, json = excluded.json, superseded_at = excluded.superseded_at
            """,
            [.instant(now), .type(key.type), .text(key.id)]
        )
    }

    private func removeIndex(_ key: ResourceKey) throws {
        try connection.run("DELETE FROM refs WHERE source_type = ? AND source_id = ?", [.type(key.type), .text(key.id)])
        try connection.run("DELETE FROM search_values WHERE type = ? AND id = ?", [.type(key.type), .text(key.id)])
    }

    private func index(_ resource: JSONObject, key: ResourceKey) throws {
        try removeIndex(key)
        for reference in ReferenceIndexing.references(in: resource, baseURL: baseURL) {
            try connection.run(
                "INSERT INTO refs (source_type, source_id, path, target_type, target_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [.type(key.type), .text(key.id), .text(reference.path.rawValue), .type(reference.target.type), .text(reference.target.id)]
            )
        }
        for value in ReferenceIndexing.searchValues(in: resource) + GroupSearchIndexing.searchValues(in: resource)
            + ReferenceIndexing.identifierValues(in: resource) {
            try connection.run(
                "INSERT INTO search_values (type, id, parameter, system, value) VALUES (?, ?, ?, ?, ?)",
                [.type(key.type), .text(key.id), .text(value.parameter), value.system.map(SQLValue.text) ?? .null, .text(value.value)]
            )
        }
    }

    /// Rebuilds both indexes from the stored resources (after indexing rules change).
    /// Returns the number of resources indexed. Runs in batches so other writers get turns.
    @discardableResult
    public func reindexAll(batchSize: Int = 500, progress: (Int) -> Void = { _ in }) throws -> Int {
        var done = 0
        var after = ResourceKey(type: "", id: "")
        while true {
            let batch = try connection.query(
                "SELECT type, id, json FROM resources WHERE deleted = 0 AND (type, id) > (?, ?) ORDER BY type, id LIMIT ?",
                [.type(after.type), .text(after.id), .int(batchSize)]
            ) { (ResourceKey(type: ResourceType(rawValue: $0.text(0) ?? ""), id: $0.text(1) ?? ""), $0.blob(2)) }
            guard let last = batch.last else { break }
            try writeTransaction {
                for (key, json) in batch {
                    guard case .object(let resource) = try JSONParser.parse(json) else { continue }
                    try index(resource, key: key)
                }
            }
            done += batch.count
            progress(done)
            after = last.0
        }
        return done
    }

    /// Current resources of `types` with the identifier (a nil system matches any), in type and id order.
    public func resources(ofTypes types: [ResourceType], identifier: GivenIdentifier) throws -> [ResourceKey] {
        let placeholders = Array(repeating: "?", count: types.count).joined(separator: ", ")
        var sql = "SELECT DISTINCT type, id FROM search_values WHERE parameter = 'identifier' AND value = ? AND type IN (\(placeholders))"
        var parameters: [SQLValue] = [.text(identifier.value)] + types.map { .type($0) }
        if let system = identifier.system {
            sql += " AND system = ?"
            parameters.append(.text(system))
        }
        return try connection.query(sql + " ORDER BY type, id", parameters) {
            ResourceKey(type: ResourceType(rawValue: $0.text(0) ?? ""), id: $0.text(1) ?? "")
        }
    }
}
