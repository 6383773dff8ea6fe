import XCTest
@testable import ExportDomain

/// `AccessPolicy.decide`, row by row: every request kind × both roles × scopes × Groups.
final class AccessPolicyTests: XCTestCase {
    private let atr = ExportRequest(groupId: "g1", operation: .davinciDataExport, types: ["Group", "Patient", "Coverage", "Location"])
    private let alias = ExportRequest(groupId: "g1", operation: .export, types: ["Patient", "Location"], typesRequested: true)

    private func provider(_ groups: [String]? = ["g1"], scopes: String = "system/*.read", id: String = "a") -> ClientPrincipal {
        ClientPrincipal(clientId: id, role: .provider, scopes: ScopeSet(granted: scopes), groups: groups)
    }

    private func admin(scopes: String = "system/*.read system/*.write", groups: [String]? = []) -> ClientPrincipal {
        ClientPrincipal(clientId: "root", role: .admin, scopes: ScopeSet(granted: scopes), groups: groups)
    }

    private func decide(_ principal: ClientPrincipal?, _ request: AccessPolicy.Request) -> AccessPolicy.Decision {
        AccessPolicy.decide(principal, request)
    }

    func testWithSMARTOffEverythingIsAllowed() {
        XCTAssertEqual(decide(nil, .write("Patient", .delete)), .allowed)
        XCTAssertEqual(decide(nil, .auditTrail), .allowed)
        XCTAssertEqual(decide(nil, .exportTask(owner: nil, atr)), .allowed)
    }

    func testGroups() {
        XCTAssertEqual(decide(provider(), .group(id: "g1")), .allowed)
        XCTAssertEqual(decide(provider(["*"]), .group(id: "g9")), .allowed)
        XCTAssertEqual(decide(provider(["g2", "g1"]), .group(id: "g1")), .allowed)
        XCTAssertEqual(decide(provider(), .group(id: "g2")), .notFound, "another provider's Group is as if absent")
        XCTAssertEqual(decide(provider([]), .group(id: "g1")), .notFound)
        XCTAssertEqual(decide(provider(nil), .group(id: "g1")), .notFound, "a removed client")
        XCTAssertEqual(decide(provider(scopes: "system/Patient.read"), .group(id: "g2")), .missingReads(["Group"]),
                       "scopes first: a 403 naming a scope reveals nothing")
        XCTAssertEqual(decide(admin(), .group(id: "g2")), .allowed, "admins reach every Group")
        XCTAssertEqual(decide(admin(scopes: "system/Patient.read"), .group(id: "g2")), .missingReads(["Group"]))
        XCTAssertEqual(decide(provider(), .groupSearch), .allowed)
        XCTAssertEqual(decide(provider(scopes: "system/Group.rs"), .groupSearch), .allowed)
        XCTAssertEqual(decide(provider(scopes: "system/Patient.rs"), .groupSearch), .missingReads(["Group"]))
    }

    func testMemberResources() {
        XCTAssertEqual(decide(provider(), .memberResource("Patient", exportedBy: ["g1"])), .allowed)
        XCTAssertEqual(decide(provider(), .memberResource("Coverage", exportedBy: ["g2", "g1"])), .allowed)
        XCTAssertEqual(decide(provider(["*"]), .memberResource("RelatedPerson", exportedBy: ["g7"])), .allowed)
        XCTAssertEqual(decide(provider(), .memberResource("Patient", exportedBy: ["g2"])), .notFound, "another provider's member")
        XCTAssertEqual(decide(provider(["*"]), .memberResource("Patient", exportedBy: [])), .notFound,
                       "in no export (opted out, or no member at all)")
        XCTAssertEqual(decide(provider(scopes: "system/Group.read"), .memberResource("Patient", exportedBy: ["g1"])),
                       .missingReads(["Patient"]))
        XCTAssertEqual(decide(admin(), .memberResource("Patient", exportedBy: [])), .allowed)
        XCTAssertEqual(decide(admin(scopes: "system/Group.read"), .memberResource("Coverage", exportedBy: [])), .missingReads(["Coverage"]))
    }

    func testOtherTypes() {
        for type: ResourceType in ["Practitioner", "PractitionerRole", "Organization", "Location"] {
            XCTAssertEqual(decide(provider([]), .resource(type)), .allowed, "\(type) is directory data")
            XCTAssertEqual(decide(provider(scopes: "system/Group.read"), .resource(type)), .missingReads([type]))
        }
        XCTAssertEqual(decide(provider(["*"]), .resource("Consent")), .notFound, "Consent is never a provider's")
        XCTAssertEqual(decide(provider(["*"]), .resource("Observation")), .notFound, "no clinical data")
        XCTAssertEqual(decide(provider(scopes: "system/Patient.read"), .resource("Consent")), .missingReads(["Consent"]))
        XCTAssertEqual(decide(admin(), .resource("Consent")), .allowed)
        XCTAssertEqual(decide(admin(), .resource("Observation")), .allowed)
    }

    func testWritesAndBundles() {
        let writer = provider(["*"], scopes: "system/*.read system/*.write")
        XCTAssertEqual(decide(writer, .write("Patient", .create)),
                       .forbiddenForRole("Provider clients cannot change data: writes and Bundles are for admin clients"))
        XCTAssertEqual(decide(writer, .bundle([AccessPolicy.Write("Patient", .update)])),
                       .forbiddenForRole("Provider clients cannot change data: writes and Bundles are for admin clients"))
        XCTAssertEqual(decide(provider(), .write("Patient", .create)), decide(provider(), .write("Patient", .update)),
                       "without the write scope too: the role is decided first, so create and update answer alike")
        XCTAssertEqual(decide(provider(), .write("Patient", .create)),
                       .forbiddenForRole("Provider clients cannot change data: writes and Bundles are for admin clients"))
        XCTAssertEqual(decide(admin(), .write("Patient", .delete)), .allowed)
        XCTAssertEqual(decide(admin(scopes: "system/Patient.cu"), .write("Patient", .delete)), .missingWrite("Patient", .delete))
        XCTAssertEqual(decide(admin(scopes: "system/Patient.cu system/Coverage.c"),
                              .bundle([AccessPolicy.Write("Patient", .update), AccessPolicy.Write("Coverage", .update)])),
                       .missingWrite("Coverage", .update))
        XCTAssertEqual(decide(admin(), .bundle([])), .allowed)
    }

    func testTheAuditTrailIsForAdmins() {
        XCTAssertEqual(decide(admin(), .auditTrail), .allowed)
        XCTAssertEqual(decide(admin(scopes: "system/Patient.read"), .auditTrail), .missingReads(["AuditEvent"]))
        XCTAssertEqual(decide(provider(["*"]), .auditTrail), .forbiddenForRole("The audit trail is for admin clients only"))
    }

    func testExportKickoff() {
        let reads = TaskAccess.requiredReads(atr)
        XCTAssertEqual(decide(provider(), .exportGroup(groupId: "g1", reads: reads)), .allowed)
        XCTAssertEqual(decide(provider(), .exportGroup(groupId: "g2", reads: reads)), .notFound, "not registered: as if absent")
        XCTAssertEqual(decide(provider(scopes: "system/Group.read"), .exportGroup(groupId: "g2", reads: reads)), .notFound,
                       "an unreachable Group says nothing about scopes")
        XCTAssertEqual(decide(provider(scopes: "system/Group.read system/Patient.read"), .exportGroup(groupId: "g1", reads: reads)),
                       .missingReads(["Coverage", "Consent", "Location"]))
        XCTAssertEqual(decide(admin(), .exportGroup(groupId: "g2", reads: reads)), .allowed)
    }

    func testTheRequiredReadsAreThoseOfTheKickoff() {
        XCTAssertEqual(TaskAccess.requiredReads(atr), ["Group", "Patient", "Coverage", "Consent", "Location"])
        XCTAssertEqual(TaskAccess.requiredReads(alias), ["Patient", "Location"])
    }

    func testListOperations() {
        let editor = provider(scopes: "system/*.read system/Group.write")
        XCTAssertEqual(decide(editor, .editList(groupId: "g1")), .allowed)
        XCTAssertEqual(decide(editor, .editList(groupId: "g2")), .notFound)
        XCTAssertEqual(decide(provider(), .editList(groupId: "g1")), .missingWrite("Group", .update))
        XCTAssertEqual(decide(provider(scopes: "system/*.read system/Group.u"), .editList(groupId: "g1")), .allowed)
        XCTAssertEqual(decide(admin(), .editList(groupId: "g9")), .allowed)
        XCTAssertEqual(decide(provider(), .attributionStatus(groupId: "g1")), .allowed)
        XCTAssertEqual(decide(provider(), .attributionStatus(groupId: "g2")), .notFound)
        XCTAssertEqual(decide(provider(scopes: "system/Group.read"), .attributionStatus(groupId: "g1")), .missingReads(["Patient", "Coverage"]))
    }

    func testExportTasks() {
        func task(_ request: ExportRequest, owner: String? = "a", _ principal: ClientPrincipal) -> AccessPolicy.Decision {
            decide(principal, .exportTask(owner: owner, request))
        }
        XCTAssertEqual(task(atr, provider()), .allowed)
        XCTAssertEqual(task(atr, provider(["*"])), .allowed)
        XCTAssertEqual(task(atr, provider(["other", "g1"])), .allowed)
        XCTAssertEqual(task(atr, provider(id: "b")), .notFound, "another client's task")
        XCTAssertEqual(task(atr, owner: nil, provider()), .notFound, "a task started with SMART off")
        XCTAssertEqual(task(atr, provider(nil)), .notFound, "the client was removed")
        XCTAssertEqual(task(atr, provider(["other"])), .notFound, "no longer registered for the Group")
        XCTAssertEqual(task(atr, provider([])), .notFound)
        XCTAssertEqual(task(atr, provider(scopes: "system/Group.read system/Patient.read system/Coverage.read system/Location.read")),
                       .missingReads(["Consent"]))
        XCTAssertEqual(task(atr, provider(scopes: "system/Group.rs system/Patient.r")), .missingReads(["Coverage", "Consent", "Location"]))
        XCTAssertEqual(task(alias, provider(scopes: "system/Patient.read system/Location.read")), .allowed, "$export needs no Consent")
        XCTAssertEqual(task(alias, provider(scopes: "system/Patient.read")), .missingReads(["Location"]))
        XCTAssertEqual(task(atr, provider(scopes: "system/Patient.read", id: "b")), .notFound, "404 before 403: nothing is revealed")
        XCTAssertEqual(task(atr, owner: "root", admin()), .allowed)
        XCTAssertEqual(task(atr, owner: "a", admin()), .notFound, "a task belongs to its client, admins included")
        XCTAssertEqual(task(atr, owner: "root", admin(groups: nil)), .notFound, "a removed admin")
    }
}
