import ExportDomain
import Foundation
import XCTest
@testable import Storage

/// `atrctl db migrate-to-postgres`: every row of an SQLite database lands in PostgreSQL.
final class DatabaseCopyTests: DatabaseTestCase {
    private let now = FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123)

    func testACopyCarriesEveryVersionTaskClientAndAuditRecordAndRefusesATargetThatIsNotEmpty() throws {
        try XCTSkipIf(backend != .postgresql, "needs ATR_TEST_POSTGRES")
        let source = try Database(path: directory.appendingPathComponent("source.sqlite").path, busyTimeoutMilliseconds: 1000,
                                  baseURL: "https://localhost:8443/fhir")
        try source.migrate()
        let patient = ResourceKey(type: "Patient", id: "p1")
        try source.writeTransaction {
            _ = try source.put(["resourceType": "Patient", "active": true], as: patient, now: now)
            _ = try source.put(["resourceType": "Patient", "active": false], as: patient, now: now)
            _ = try source.put(["resourceType": "Coverage", "status": "active", "beneficiary": ["reference": "Patient/p1"]],
                               as: ResourceKey(type: "Coverage", id: "c1"), now: now)
            try source.createTask(id: "t1", clientId: "clinic", request: Array(#"{"groupId":"g1"}"#.utf8), now: now)
            try source.appendAudit(ExportAudit.accepted(taskId: "t1", groupId: "g1", clientId: "clinic", address: "::1", now: now))
        }
        try source.saveClient(RegisteredClient(id: "clinic", jwks: Array(#"{"keys":[]}"#.utf8), jwksURL: nil, scopes: "system/*.read",
                                               groups: ["g1"], role: .provider, createdAt: now))
        XCTAssertTrue(try source.useAssertion(clientId: "clinic", jti: "j1", expiresAtMilliseconds: now.millisecondsSinceEpoch + 1000,
                                              nowMilliseconds: now.millisecondsSinceEpoch))
        let target = try openUnmigrated()
        let copied = try source.copyEverything(to: target)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: copied.map { ($0.table, $0.rows) }), [
            "resources": 2, "resource_versions": 1, "refs": 1, "search_values": try source.rowCount("search_values"), "tasks": 1,
            "clients": 1, "used_assertions": 1, "audit_events": 1, "audit_entities": try source.rowCount("audit_entities"),
        ])
        // ANALYZE ran: PostgreSQL's row estimate is -1 for a table never analyzed.
        XCTAssertEqual(try target.connection.query("SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = 'refs'::regclass") { $0.integer(0) },
                       [1], "the copy leaves the planner statistics fresh")
        XCTAssertEqual(try target.history(patient).map(\.versionId), [2, 1])
        XCTAssertEqual(try target.history(patient).map { $0.json.map { Array($0) } }, try source.history(patient).map { $0.json.map { Array($0) } })
        XCTAssertEqual(try target.referencing(patient, .coverage).map(\.id), ["c1"])
        XCTAssertEqual(try target.task("t1")?.request, Array(#"{"groupId":"g1"}"#.utf8))
        XCTAssertEqual(try target.client("clinic"), try source.client("clinic"))
        XCTAssertFalse(try target.useAssertion(clientId: "clinic", jti: "j1", expiresAtMilliseconds: now.millisecondsSinceEpoch + 1000,
                                               nowMilliseconds: now.millisecondsSinceEpoch), "a used assertion stays used")
        XCTAssertEqual(try target.auditRecords(AuditQuery(count: 10)).map(\.id), try source.auditRecords(AuditQuery(count: 10)).map(\.id))
        try target.recordAudit(ExportAudit.cancelled(taskId: "t1", groupId: "g1", clientId: "clinic", address: nil, now: now))
        XCTAssertEqual(try target.auditRecords(AuditQuery(count: 10)).map(\.id), [1, 2], "new records follow the copied ids")
        XCTAssertThrowsError(try source.copyEverything(to: target)) { error in
            XCTAssertTrue("\(error)".contains("not empty"), "\(error)")
        }
    }
}
