import XCTest
@testable import ExportDomain

/// The audit trail's pure parts: which requests are recorded, the search, the AuditEvent shape.
final class AuditTests: XCTestCase {
    private func answered(_ action: AuditAction, _ status: Int, hidden: Bool = false, role: ClientRole? = .provider) -> AuditOutcome? {
        AuditRule.record(AuditRule.Answered(action: action, status: status, reason: "why", hidden: hidden, role: role))?.outcome
    }

    func testWhatIsRecorded() {
        XCTAssertEqual(answered(.read, 200), .success, "a provider's read")
        XCTAssertNil(answered(.read, 200, role: .admin), "an admin's read")
        XCTAssertEqual(answered(.search, 200), .success)
        XCTAssertEqual(answered(.history, 200), .success)
        XCTAssertEqual(answered(.fileDownload, 204, role: nil), .success, "every download")
        XCTAssertEqual(answered(.fileDownload, 410, role: nil), .minorFailure, "every refused download: an expired link")
        XCTAssertEqual(answered(.fileDownload, 404, role: nil), .minorFailure)
        XCTAssertEqual(answered(.read, 401, role: nil), .minorFailure)
        XCTAssertEqual(answered(.write, 403, role: .admin), .minorFailure)
        XCTAssertEqual(answered(.read, 404, hidden: true), .minorFailure, "404 by isolation")
        XCTAssertNil(answered(.read, 404), "a resource that really is missing")
        XCTAssertNil(answered(.search, 400))
        XCTAssertEqual(answered(.exportKickoff, 400), .minorFailure, "every refused kick-off")
        XCTAssertEqual(answered(.exportKickoff, 503), .seriousFailure)
        XCTAssertNil(answered(.exportKickoff, 202), "accepted kick-offs are recorded with their task")
        XCTAssertNil(answered(.exportStatus, 202))
        XCTAssertNil(answered(.write, 201, role: .admin))
        XCTAssertEqual(answered(.listChange, 200), .success, "every change to an attribution list")
        XCTAssertEqual(answered(.listChange, 422), .minorFailure)
        let details = AuditRule.record(AuditRule.Answered(action: .read, status: 403, reason: "no scope", hidden: false, role: .provider))?.details
        XCTAssertEqual(details, [AuditDetail("status", "403"), AuditDetail("reason", "no scope")])
    }

    func testTheSearch() throws {
        let query = try AuditQuery.parse([("date", "ge2026-12-01"), ("date", "lt2026-12-02T12:00:00Z"), ("agent", "c1"),
                                          ("entity", "Group/g1"), ("type", "export-kickoff,file-download"), ("_count", "5")])
        XCTAssertEqual(query.from, FHIRInstant.parseInstant("2026-12-01T00:00:00Z"))
        XCTAssertEqual(query.until, FHIRInstant.parseInstant("2026-12-02T12:00:00Z"))
        XCTAssertEqual(query.clientId, "c1")
        XCTAssertEqual(query.entity, "Group/g1")
        XCTAssertEqual(query.actions, [.exportKickoff, .fileDownload])
        XCTAssertEqual(query.count, 5)
        let day = try AuditQuery.parse([("date", "2026-12-01")])
        XCTAssertEqual(day.from, FHIRInstant.parseInstant("2026-12-01T00:00:00Z"))
        XCTAssertEqual(day.until, FHIRInstant.parseInstant("2026-12-02T00:00:00Z"))
        XCTAssertEqual(try AuditQuery.parse([("date", "gt2026-12")]).from, FHIRInstant.parseInstant("2027-01-01T00:00:00Z"))
        let second = try AuditQuery.parse([("date", "2026-12-01T10:00:00Z")])
        XCTAssertEqual(second.until, FHIRInstant.parseInstant("2026-12-01T10:00:01Z"), "a time to the second names the whole second")
        XCTAssertEqual(try AuditQuery.parse([("date", "le2026-12-01T10:00:00.5Z")]).until, FHIRInstant.parseInstant("2026-12-01T10:00:00.600Z"))
        XCTAssertEqual(try AuditQuery.parse([("date", "gt2026-12-01T10:00:00.123Z")]).from, FHIRInstant.parseInstant("2026-12-01T10:00:00.124Z"))
        XCTAssertEqual(try AuditQuery.parse([("date", "le2026")]).until, FHIRInstant.parseInstant("2027-01-01T00:00:00Z"))
        XCTAssertEqual(try AuditQuery.parse([("type", "110106")]).actions,
                       [.exportKickoff, .exportComplete, .exportFailed, .exportCancel, .fileDownload])
        XCTAssertEqual(try AuditQuery.parse([("type", "urn:atr-export:audit-action|token")]).actions, [.token])
        XCTAssertEqual(AuditQuery.nextPage([("agent", "c1"), ("_cursor", "3")], after: 9).map(\.value), ["c1", "9"])
        for bad in [("date", "yesterday"), ("_count", "0"), ("_count", "1001"), ("type", "nope"), ("agent", ""), ("_cursor", "x"), ("_sort", "date")] {
            XCTAssertThrowsError(try AuditQuery.parse([bad]), "\(bad)") { error in
                XCTAssertEqual((error as? FHIRError)?.status, 400)
            }
        }
        XCTAssertThrowsError(try AuditQuery.parse([("agent", "a"), ("agent", "b")]))
    }

    func testTheAuditEventShape() throws {
        let manifest = ExportManifest(transactionTime: "t", request: "r", output: [
            ExportManifest.File(type: "Patient", name: "Patient.ndjson", count: 3),
            ExportManifest.File(type: "Patient", name: "Patient-2.ndjson", count: 2),
            ExportManifest.File(type: "Group", name: "Group.ndjson", count: 1),
        ], error: [])
        var record = ExportAudit.completed(taskId: "t1", request: ExportRequest(groupId: "g1", operation: .davinciDataExport, types: ["Group"]),
                                           clientId: "c1", manifest: manifest, optedOutMembers: 2,
                                           now: FHIRInstant.parseInstant("2026-12-02T10:00:00Z")!)
        record.id = 7
        let event = AuditEventResource.json(record)
        XCTAssertEqual(event["resourceType"]?.stringValue, "AuditEvent")
        XCTAssertEqual(event["id"]?.stringValue, "7")
        XCTAssertEqual(event["type"]?["code"]?.stringValue, "110106")
        XCTAssertEqual(event["subtype"]?.arrayValue?.last?["code"]?.stringValue, "export-complete")
        XCTAssertEqual(event["recorded"]?.stringValue, "2026-12-02T10:00:00.000Z")
        XCTAssertEqual(event["outcome"]?.stringValue, "0")
        XCTAssertEqual(event["agent"]?[0]?["who"]?["identifier"]?["value"]?.stringValue, "c1")
        XCTAssertEqual(event["agent"]?[0]?["requestor"]?.boolValue, true)
        XCTAssertEqual(event["entity"]?[0]?["what"]?["reference"]?.stringValue, "Group/g1")
        XCTAssertEqual(event["entity"]?[1]?["what"]?["identifier"]?["value"]?.stringValue, "t1")
        let details = event["entity"]?[0]?["detail"]?.arrayValue?.map { "\($0["type"]?.stringValue ?? "")=\($0["valueString"]?.stringValue ?? "")" }
        XCTAssertEqual(details, ["count Patient=5", "count Group=1", "opted-out members=2", "files=3"])
        XCTAssertEqual(Base64URL.standard(Array("Group?name=h".utf8)), "R3JvdXA/bmFtZT1o")
        XCTAssertEqual(Base64URL.standard(Array("ab".utf8)), "YWI=")
    }
}
