import ExportDomain
import Foundation
import XCTest
@testable import Storage

/// A test case with its own database, removed afterwards: `atr.sqlite` in a directory of its
/// own, or, when `ATR_TEST_POSTGRES` holds a libpq connection string, a schema of its own in
/// that PostgreSQL database (`scripts/storage-tests.sh` runs the suite both ways).
class DatabaseTestCase: XCTestCase {
    var directory: URL!
    private var schema: String?

    static let postgres = ProcessInfo.processInfo.environment["ATR_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    var backend: SQLBackend { Self.postgres == nil ? .sqlite : .postgresql }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("atr-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let postgres = Self.postgres {
            let name = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try PostgreSQLConnection(connectionString: postgres, password: nil, lockTimeoutMilliseconds: 10000)
                .execute("CREATE SCHEMA \(name)")
            schema = name
        }
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
        if let postgres = Self.postgres, let schema {
            try PostgreSQLConnection(connectionString: postgres, password: nil, lockTimeoutMilliseconds: 10000)
                .execute("DROP SCHEMA \(schema) CASCADE")
        }
    }

    /// This test's database (a new connection each call), migrated to this build's schema.
    func open() throws -> Database {
        let database = try openUnmigrated()
        try database.migrate()
        return database
    }

    func openUnmigrated() throws -> Database {
        try Database(location: location, busyTimeoutMilliseconds: 10000, baseURL: "https://localhost:8443/fhir")
    }

    var location: DatabaseLocation {
        if let postgres = Self.postgres, let schema {
            return .postgresql(connectionString: "\(postgres) options='-c search_path=\(schema)'", password: nil)
        }
        return .sqlite(path: directory.appendingPathComponent("atr.sqlite").path)
    }

    /// Skips a test of SQLite's own machinery (file format, pragmas, blob I/O) on PostgreSQL.
    func requireSQLite() throws {
        try XCTSkipIf(backend != .sqlite, "SQLite only")
    }
}

extension DatabaseTestCase {
    /// The ids a Group search finds (one page), from `name=value` items as in a query string.
    func groupIds(_ db: Database, _ items: String..., include: (String) -> Bool = { _ in true }) throws -> [String] {
        try groupSearch(db, items, include: include).groups.map(\.key.id)
    }

    func groupSearch(_ db: Database, _ items: [String], include: (String) -> Bool = { _ in true }) throws -> GroupSearchPage {
        let pairs = items.map { item -> (name: String, value: String) in
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        return try db.searchGroups(GroupSearch.parse(pairs, baseURL: db.baseURL), include: include)
    }
}
