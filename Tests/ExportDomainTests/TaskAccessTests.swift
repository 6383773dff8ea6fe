import XCTest
@testable import ExportDomain

/// `TaskAccess.decide`, row by row: owner, registration, scopes, both operations.
final class TaskAccessTests: XCTestCase {
    private let atr = ExportRequest(groupId: "g1", operation: .davinciDataExport, types: ["Group", "Patient", "Coverage", "Location"])
    private let alias = ExportRequest(groupId: "g1", operation: .export, types: ["Patient", "Location"], typesRequested: true)

    private func decide(_ request: ExportRequest, owner: String? = "a", client: String = "a", scopes: String = "system/*.read",
                        groups: [String]? = ["g1"]) -> TaskAccess.Decision {
        TaskAccess.decide(owner: owner, request: request, clientId: client, scopes: ScopeSet(granted: scopes), registeredGroups: groups)
    }

    func testTheRequiredReadsAreThoseOfTheKickoff() {
        XCTAssertEqual(TaskAccess.requiredReads(atr), ["Group", "Patient", "Coverage", "Consent", "Location"])
        XCTAssertEqual(TaskAccess.requiredReads(alias), ["Patient", "Location"])
    }

    func testEveryRow() {
        XCTAssertEqual(decide(atr), .allowed)
        XCTAssertEqual(decide(atr, groups: ["*"]), .allowed)
        XCTAssertEqual(decide(atr, groups: ["other", "g1"]), .allowed)
        XCTAssertEqual(decide(atr, client: "b"), .notFound, "another client's task")
        XCTAssertEqual(decide(atr, owner: nil), .notFound, "a task started with SMART off")
        XCTAssertEqual(decide(atr, groups: nil), .notFound, "the client was removed")
        XCTAssertEqual(decide(atr, groups: ["other"]), .notFound, "no longer registered for the Group")
        XCTAssertEqual(decide(atr, groups: []), .notFound)
        XCTAssertEqual(decide(atr, scopes: "system/Group.read system/Patient.read system/Coverage.read system/Location.read"),
                       .missingReads(["Consent"]))
        XCTAssertEqual(decide(atr, scopes: "system/Group.rs system/Patient.r"), .missingReads(["Coverage", "Consent", "Location"]))
        XCTAssertEqual(decide(alias, scopes: "system/Patient.read system/Location.read"), .allowed, "$export needs no Consent")
        XCTAssertEqual(decide(alias, scopes: "system/Patient.read"), .missingReads(["Location"]))
        XCTAssertEqual(decide(atr, client: "b", scopes: "system/Patient.read"), .notFound, "404 before 403: nothing is revealed")
    }
}
