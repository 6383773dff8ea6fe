import ExportDomain
import Foundation
import XCTest
@testable import Storage

/// A test case with its own directory for SQLite files, removed afterwards.
class DatabaseTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("atr-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// `atr.sqlite` in the test's directory, migrated to this build's schema.
    func open() throws -> Database {
        let database = try Database(path: directory.appendingPathComponent("atr.sqlite").path, busyTimeoutMilliseconds: 10000,
                                    baseURL: "https://localhost:8443/fhir")
        try database.migrate()
        return database
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
