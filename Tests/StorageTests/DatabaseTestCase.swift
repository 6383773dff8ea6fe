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
