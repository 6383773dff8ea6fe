/// SQLite's numbered schema steps, applied once each and recorded in `PRAGMA user_version`.
/// Append new steps; never edit one that has shipped.
enum SQLiteMigrations {
    static let steps: [String] = [
        // 1: resources, the reference and search indexes, tasks, clients, replay protection.
        """
        CREATE TABLE resources (
            type TEXT NOT NULL,
            id TEXT NOT NULL,
            version_id INTEGER NOT NULL,
            last_updated TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            json BLOB,
            PRIMARY KEY (type, id)
        ) WITHOUT ROWID;
        CREATE INDEX resources_by_last_updated ON resources (type, last_updated);

        CREATE TABLE refs (
            source_type TEXT NOT NULL,
            source_id TEXT NOT NULL,
            path TEXT NOT NULL,
            target_type TEXT NOT NULL,
            target_id TEXT NOT NULL,
            PRIMARY KEY (source_type, source_id, path, target_type, target_id)
        ) WITHOUT ROWID;
        CREATE INDEX refs_by_target ON refs (target_type, target_id, source_type, path);

        CREATE TABLE search_values (
            type TEXT NOT NULL,
            id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            system TEXT,
            value TEXT NOT NULL
        );
        CREATE INDEX search_values_by_value ON search_values (type, parameter, value);
        CREATE INDEX search_values_by_resource ON search_values (type, id);

        CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            client_id TEXT,
            state TEXT NOT NULL,
            request TEXT NOT NULL,
            created_at TEXT NOT NULL,
            transaction_time TEXT,
            lease_owner TEXT,
            lease_expires_at INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            progress TEXT,
            manifest BLOB,
            outcome BLOB,
            finished_at INTEGER
        );
        CREATE INDEX tasks_by_state ON tasks (state, created_at);

        CREATE TABLE clients (
            id TEXT PRIMARY KEY,
            jwks BLOB,
            jwks_url TEXT,
            scopes TEXT NOT NULL,
            groups TEXT NOT NULL,
            created_at TEXT NOT NULL
        );

        CREATE TABLE used_assertions (
            client_id TEXT NOT NULL,
            jti TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (client_id, jti)
        ) WITHOUT ROWID;
        """,
        // 2: resources as a rowid table. In a WITHOUT ROWID table the whole row is the b-tree
        // key, so every lookup whose search passed a big row (an ATR Group of 100k members is
        // ~30 MB) loaded all of it to compare keys: slow, and the scheduler's memory grew with
        // the Group's size. Now the (type, id) index holds only the key.
        """
        CREATE TABLE resources_v2 (
            type TEXT NOT NULL,
            id TEXT NOT NULL,
            version_id INTEGER NOT NULL,
            last_updated TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            json BLOB,
            PRIMARY KEY (type, id)
        );
        INSERT INTO resources_v2 (type, id, version_id, last_updated, deleted, json)
            SELECT type, id, version_id, last_updated, deleted, json FROM resources ORDER BY type, id;
        DROP TABLE resources;
        ALTER TABLE resources_v2 RENAME TO resources;
        CREATE INDEX resources_by_last_updated ON resources (type, last_updated);
        """,
        // 3: one time representation: every point in time is INTEGER milliseconds since the
        // Unix epoch (the instants stored as text until now are converted; julianday reads the
        // `2026-11-26T15:55:04.123Z` form the server wrote). The unused last_updated index goes.
        """
        DROP INDEX resources_by_last_updated;
        ALTER TABLE resources ADD COLUMN last_updated_ms INTEGER NOT NULL DEFAULT 0;
        UPDATE resources SET last_updated_ms = CAST(round((julianday(last_updated) - 2440587.5) * 86400000.0) AS INTEGER);
        ALTER TABLE resources DROP COLUMN last_updated;
        ALTER TABLE resources RENAME COLUMN last_updated_ms TO last_updated;

        DROP INDEX tasks_by_state;
        ALTER TABLE tasks ADD COLUMN created_at_ms INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tasks ADD COLUMN transaction_time_ms INTEGER;
        UPDATE tasks SET created_at_ms = CAST(round((julianday(created_at) - 2440587.5) * 86400000.0) AS INTEGER),
            transaction_time_ms = CAST(round((julianday(transaction_time) - 2440587.5) * 86400000.0) AS INTEGER);
        ALTER TABLE tasks DROP COLUMN created_at;
        ALTER TABLE tasks DROP COLUMN transaction_time;
        ALTER TABLE tasks RENAME COLUMN created_at_ms TO created_at;
        ALTER TABLE tasks RENAME COLUMN transaction_time_ms TO transaction_time;
        CREATE INDEX tasks_by_state ON tasks (state, created_at);

        ALTER TABLE clients ADD COLUMN created_at_ms INTEGER NOT NULL DEFAULT 0;
        UPDATE clients SET created_at_ms = CAST(round((julianday(created_at) - 2440587.5) * 86400000.0) AS INTEGER);
        ALTER TABLE clients DROP COLUMN created_at;
        ALTER TABLE clients RENAME COLUMN created_at_ms TO created_at;
        """,
        // 4: client roles (every existing client is a provider until registered again with
        // `--role admin`), and the audit trail: append-only (updates are refused by triggers;
        // only the retention purge deletes), its entities searchable by value.
        """
        ALTER TABLE clients ADD COLUMN role TEXT NOT NULL DEFAULT 'provider';

        CREATE TABLE audit_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            recorded INTEGER NOT NULL,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL,
            client_id TEXT,
            address TEXT,
            details TEXT NOT NULL
        );
        CREATE INDEX audit_events_by_recorded ON audit_events (recorded);
        CREATE INDEX audit_events_by_client ON audit_events (client_id, id);
        CREATE INDEX audit_events_by_client_action ON audit_events (client_id, action, recorded);
        CREATE TABLE audit_entities (
            event_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (event_id, position)
        ) WITHOUT ROWID;
        CREATE INDEX audit_entities_by_value ON audit_entities (value, event_id);
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER audit_entities_append_only BEFORE UPDATE ON audit_entities
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        """,
        // 5: history. Every superseded version moves to resource_versions when the next one is
        // written, with the time it was superseded (pruning goes by that: a version stays as long
        // as it was current recently); the current one stays in resources, which the export
        // reads. Tombstones are found by the time they were deleted (`_since` lists them).
        """
        CREATE TABLE resource_versions (
            type TEXT NOT NULL,
            id TEXT NOT NULL,
            version_id INTEGER NOT NULL,
            last_updated INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            json BLOB,
            superseded_at INTEGER NOT NULL,
            PRIMARY KEY (type, id, version_id)
        );
        CREATE INDEX resource_versions_by_superseded ON resource_versions (superseded_at);
        CREATE INDEX resources_deleted_by_time ON resources (last_updated) WHERE deleted = 1;
        """,
    ]

}

/// The numbered schema steps of both backends, which keep the same numbering: step N of one
/// makes the schema the other has after its step N.
enum Migrations {
    static func steps(for backend: SQLBackend) -> [String] {
        switch backend {
        case .sqlite: return SQLiteMigrations.steps
        case .postgresql: return PostgreSQLMigrations.steps
        }
    }

    /// The schema version this build reads and writes.
    static var latest: Int { SQLiteMigrations.steps.count }

    static func version(of connection: any SQLConnection) throws -> Int {
        switch connection.backend {
        case .sqlite:
            return try connection.query("PRAGMA user_version") { Int($0.integer(0)) }.first ?? 0
        case .postgresql:
            let exists = try connection.query("SELECT to_regclass('schema_version') IS NOT NULL") { $0.integer(0) != 0 }.first ?? false
            guard exists else { return 0 }
            return try connection.query("SELECT version FROM schema_version") { Int($0.integer(0)) }.first ?? 0
        }
    }

    /// Applies the missing steps in one write transaction; returns the versions before and after.
    static func apply(to connection: any SQLConnection) throws -> (from: Int, to: Int) {
        let steps = steps(for: connection.backend)
        return try connection.writeTransaction {
            let version = try version(of: connection)
            guard version <= latest else { throw SchemaVersionError(found: version, expected: latest) }
            for step in version..<steps.count {
                try connection.execute(steps[step])
                try record(step + 1, on: connection)
            }
            return (version, latest)
        }
    }

    private static func record(_ version: Int, on connection: any SQLConnection) throws {
        switch connection.backend {
        case .sqlite:
            try connection.execute("PRAGMA user_version = \(version)")
        case .postgresql:
            try connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            try connection.run("DELETE FROM schema_version")
            try connection.run("INSERT INTO schema_version (version) VALUES (?)", [.int(version)])
        }
    }
}

/// The database file's schema is not the one this build uses. Servers stop on it (exit 78)
/// instead of migrating behind the operator's back: `atrctl migrate` is the one step that
/// changes the schema.
public struct SchemaVersionError: Error, Sendable, CustomStringConvertible {
    public var found: Int
    public var expected: Int

    public init(found: Int, expected: Int) {
        self.found = found
        self.expected = expected
    }

    public var description: String {
        found < expected
            ? "the database schema is at version \(found), this build needs \(expected): run `atrctl migrate` (with the services stopped on a big database)"
            : "the database schema is at version \(found), newer than this build's \(expected): run a newer build"
    }
}
