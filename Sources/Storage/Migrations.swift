/// Numbered schema steps, applied once each and recorded in `PRAGMA user_version`.
/// Append new steps; never edit one that has shipped.
enum Migrations {
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
    ]

    static func apply(to connection: SQLiteConnection) throws {
        let current = try connection.query("PRAGMA user_version") { Int($0.integer(0)) }.first ?? 0
        guard current < steps.count else { return }
        try connection.writeTransaction {
            // Re-read inside the write lock: another process may have migrated meanwhile.
            let version = try connection.query("PRAGMA user_version") { Int($0.integer(0)) }.first ?? 0
            for step in version..<steps.count {
                try connection.execute(steps[step])
                try connection.execute("PRAGMA user_version = \(step + 1)")
            }
        }
    }
}
