import ExportDomain
import Foundation
import XCTest
@testable import Storage

final class DatabaseBackupTests: DatabaseTestCase {
    func testABackupHoldsEverythingIncludingTheAuditTrailAndNeverOverwrites() throws {
        try requireSQLite()
        let db = try open()
        let now = FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123)
        try db.writeTransaction {
            _ = try db.put(["resourceType": "Patient", "active": true], as: ResourceKey(type: "Patient", id: "p1"), now: now)
            try db.appendAudit(ExportAudit.accepted(taskId: "t1", groupId: "g1", clientId: "a", address: "::1", now: now))
        }
        let path = directory.appendingPathComponent("backup.sqlite").path
        XCTAssertGreaterThan(try db.backup(to: path), 0, "the audit trail's WITHOUT ROWID table does not fail the check")
        let copy = try Database(path: path, busyTimeoutMilliseconds: 1000, baseURL: db.baseURL)
        try copy.requireCurrentSchema()
        guard case .found(let stored) = try copy.read(ResourceKey(type: "Patient", id: "p1")) else { return XCTFail("not copied") }
        XCTAssertEqual(stored.versionId, 1)
        XCTAssertEqual(try copy.auditCount(clientId: "a", action: .exportKickoff, outcome: .success, since: FHIRInstant(millisecondsSinceEpoch: 0)), 1)
        XCTAssertThrowsError(try db.backup(to: path), "an existing file is never overwritten")
    }

    func testPostgreSQLIsBackedUpWithItsOwnTools() throws {
        try XCTSkipIf(backend != .postgresql, "PostgreSQL only")
        let db = try open()
        XCTAssertThrowsError(try db.backup(to: directory.appendingPathComponent("backup").path)) { error in
            XCTAssertTrue("\(error)".contains("pg_dump"), "\(error)")
        }
    }
}
