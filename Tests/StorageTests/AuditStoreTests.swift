import ExportDomain
import Foundation
import XCTest
@testable import Storage

/// The audit trail's rows: what is stored comes back whole, the search narrows as asked, the
/// rows cannot be updated, and the purge removes only what is past retention.
final class AuditStoreTests: DatabaseTestCase {
    private let t0 = FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123)

    private func at(_ seconds: Int64) -> FHIRInstant { FHIRInstant(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + seconds * 1000) }

    private func seed(_ db: Database) throws {
        try db.recordAudit(AuditRecord(recorded: at(0), action: .token, outcome: .success, clientId: "a", address: "127.0.0.1",
                                       details: [AuditDetail("scope", "system/*.read")]))
        try db.recordAudit(ExportAudit.accepted(taskId: "t1", groupId: "g1", clientId: "a", address: "127.0.0.1", now: at(10)))
        try db.recordAudit(AuditRecord(recorded: at(20), action: .read, outcome: .minorFailure, clientId: "b", address: "::1",
                                       entities: [.resource(ResourceKey(type: "Patient", id: "p1"))],
                                       details: [AuditDetail("status", "404")]))
    }

    func testRecordsComeBackWholeInTheOrderWritten() throws {
        let db = try open()
        try seed(db)
        let all = try db.auditRecords(AuditQuery())
        XCTAssertEqual(all.map(\.action), [.token, .exportKickoff, .read])
        XCTAssertEqual(all.map(\.id), [1, 2, 3])
        var expected = ExportAudit.accepted(taskId: "t1", groupId: "g1", clientId: "a", address: "127.0.0.1", now: at(10))
        expected.id = 2
        XCTAssertEqual(all[1], expected)
        XCTAssertEqual(all[2].entities, [AuditEntity(.resource, "Patient/p1")])
    }

    func testTheSearchNarrows() throws {
        let db = try open()
        try seed(db)
        XCTAssertEqual(try db.auditRecords(AuditQuery(clientId: "a")).map(\.id), [1, 2])
        XCTAssertEqual(try db.auditRecords(AuditQuery(entity: "Group/g1")).map(\.id), [2])
        XCTAssertEqual(try db.auditRecords(AuditQuery(entity: "t1")).map(\.id), [2])
        XCTAssertEqual(try db.auditRecords(AuditQuery(entity: "Patient/p1")).map(\.id), [3])
        XCTAssertEqual(try db.auditRecords(AuditQuery(from: at(10), until: at(20))).map(\.id), [2])
        XCTAssertEqual(try db.auditRecords(AuditQuery(actions: [.read, .token])).map(\.id), [1, 3])
        XCTAssertEqual(try db.auditRecords(AuditQuery(actions: [])).map(\.id), [])
        XCTAssertEqual(try db.auditRecords(AuditQuery(count: 2)).map(\.id), [1, 2])
        XCTAssertEqual(try db.auditRecords(AuditQuery(count: 2, after: 2)).map(\.id), [3])
    }

    func testRowsCannotBeUpdated() throws {
        let db = try open()
        try seed(db)
        XCTAssertThrowsError(try db.connection.run("UPDATE audit_events SET outcome = '0' WHERE id = 3")) { error in
            XCTAssertTrue("\(error)".contains("append-only"), "\(error)")
        }
        XCTAssertThrowsError(try db.connection.run("UPDATE audit_entities SET value = 'Patient/x'"))
        XCTAssertEqual(try db.auditRecords(AuditQuery(entity: "Patient/p1")).first?.outcome, .minorFailure)
    }

    func testThePurgeRemovesOnlyRecordsPastRetention() throws {
        let db = try open()
        try seed(db)
        XCTAssertEqual(try db.purgeAudit(recordedBefore: at(15)), 2)
        XCTAssertEqual(try db.auditRecords(AuditQuery()).map(\.id), [3])
        XCTAssertEqual(try db.connection.query("SELECT count(*) FROM audit_entities") { $0.integer(0) }, [1])
    }

    func testClientsKeepTheirRole() throws {
        let db = try open()
        try db.saveClient(RegisteredClient(id: "loader", jwks: nil, jwksURL: "https://x/jwks", scopes: "system/*.write", groups: [],
                                           role: .admin, createdAt: t0))
        try db.saveClient(RegisteredClient(id: "clinic", jwks: nil, jwksURL: "https://x/jwks", scopes: "system/*.read", groups: ["g1"],
                                           role: .provider, createdAt: t0))
        XCTAssertEqual(try db.client("loader")?.role, .admin)
        XCTAssertEqual(try db.client("clinic")?.role, .provider)
        try db.connection.run("UPDATE clients SET role = 'superuser' WHERE id = 'loader'")
        XCTAssertEqual(try db.client("loader")?.role, .provider, "an unknown role reads as the narrower one")
    }

    func testClientsRegisteredBeforeRolesBecomeProviders() throws {
        try requireSQLite()
        let db = try Database(path: directory.appendingPathComponent("old.sqlite").path, busyTimeoutMilliseconds: 10000,
                              baseURL: "https://localhost:8443/fhir")
        for step in 0..<3 {
            try db.connection.execute(SQLiteMigrations.steps[step])
            try db.connection.execute("PRAGMA user_version = \(step + 1)")
        }
        try db.connection.run("INSERT INTO clients (id, jwks_url, scopes, groups, created_at) VALUES ('old', 'https://x/jwks', 'system/*.read', '*', 0)")
        let migrated = try db.migrate()
        XCTAssertEqual(migrated.from, 3)
        XCTAssertEqual(try db.client("old")?.role, .provider)
    }

    func testCountsAClientsRecordsOfOneActionAndOutcomeSinceAnInstant() throws {
        let db = try open()
        try seed(db)
        try db.recordAudit(AuditRecord(recorded: at(30), action: .token, outcome: .success, clientId: "a", address: nil))
        try db.recordAudit(AuditRecord(recorded: at(40), action: .token, outcome: .minorFailure, clientId: "a", address: nil))
        XCTAssertEqual(try db.auditCount(clientId: "a", action: .token, outcome: .success, since: at(0)), 2)
        XCTAssertEqual(try db.auditCount(clientId: "a", action: .token, outcome: .success, since: at(1)), 1)
        XCTAssertEqual(try db.auditCount(clientId: "b", action: .token, outcome: .success, since: at(0)), 0)
    }
}
