import XCTest
@testable import ExportDomain

final class SecurityScopeTests: XCTestCase {
    func testParsesV1AndV2Scopes() throws {
        let table: [(String, String, SMARTPermissions, SMARTScope.Version)] = [
            ("system/Patient.read", "Patient", .v1Read, .v1),
            ("system/Patient.write", "Patient", .v1Write, .v1),
            ("system/Patient.*", "Patient", .all, .v1),
            ("system/*.read", "*", .v1Read, .v1),
            ("system/*.*", "*", .all, .v1),
            ("system/Group.rs", "Group", [.read, .search], .v2),
            ("system/Group.r", "Group", .read, .v2),
            ("system/Group.s", "Group", .search, .v2),
            ("system/Consent.cud", "Consent", .v1Write, .v2),
            ("system/*.cruds", "*", .all, .v2),
            ("system/Observation.cd", "Observation", [.create, .delete], .v2),
        ]
        for (text, type, permissions, version) in table {
            let scope = try SMARTScope.parse(text)
            XCTAssertEqual(scope.resourceType, type, text)
            XCTAssertEqual(scope.permissions, permissions, text)
            XCTAssertEqual(scope.version, version, text)
            XCTAssertEqual(scope.description, text, "round trip")
        }
    }

    func testMalformedScopes() {
        let table: [(String, String)] = [
            ("system/Bogus.read", "unknown resource type 'Bogus'"),
            ("system/patient.read", "unknown resource type 'patient'"),
            ("system/Patient.x", "unknown action 'x'"),
            ("system/Patient.sr", "unknown action 'sr'"),
            ("system/Patient.rr", "unknown action 'rr'"),
            ("system/Patient.Read", "unknown action"),
            ("system/Patient.readwrite", "unknown action"),
            ("system/Patient.", "expected system/"),
            ("system/.read", "expected system/"),
            ("system/Patient", "expected system/"),
            ("system/Patient.read.x", "expected system/"),
            ("system/Observation.rs?category=laboratory", "granular"),
            ("patient/Patient.read", "only SMART system scopes"),
            ("user/*.read", "only SMART system scopes"),
            ("openid", "only SMART system scopes"),
            ("fhirUser", "only SMART system scopes"),
            ("launch", "only SMART system scopes"),
            ("System/Patient.read", "only SMART system scopes"),
        ]
        for (text, fragment) in table {
            XCTAssertThrowsError(try SMARTScope.parse(text), text) { error in
                let error = error as! OAuthError
                XCTAssertEqual(error.error, "invalid_scope", text)
                XCTAssertEqual(error.status, 400, text)
                XCTAssertTrue(error.description.contains("'\(text)'"), error.description)
                XCTAssertTrue(error.description.contains(fragment), "\(fragment) ← \(error.description)")
            }
        }
    }

    func testGrantIntersections() throws {
        let table: [(requested: String, allowed: String, granted: String)] = [
            ("system/Patient.read", "system/*.read", "system/Patient.read"),
            ("system/Patient.read", "system/Patient.read system/Group.read", "system/Patient.read"),
            ("system/*.read", "system/Patient.read system/Group.rs", "system/Patient.read system/Group.read"),
            ("system/*.read", "system/*.*", "system/*.read"),
            ("system/*.*", "system/*.read", "system/*.read"),
            ("system/Patient.*", "system/*.read", "system/Patient.read"),
            ("system/Patient.*", "system/*.rs system/*.cud", "system/Patient.*"),
            ("system/Patient.read", "system/Patient.r", "system/Patient.r"),
            ("system/Patient.read", "system/Patient.rs system/Patient.c", "system/Patient.read"),
            ("system/Patient.write", "system/*.cu", "system/Patient.cu"),
            ("system/Patient.rs", "system/*.read", "system/Patient.rs"),
            ("system/Patient.cruds", "system/*.read", "system/Patient.rs"),
            ("system/Patient.cruds", "system/*.*", "system/Patient.cruds"),
            ("system/*.rs", "system/*.r system/Group.s", "system/*.r system/Group.s"),
            // A specific grant implied by the wildcard grant is left out.
            ("system/*.read", "system/*.read system/Patient.*", "system/*.read"),
            // Requested order kept, duplicates dropped, unallowed ones skipped.
            ("system/Group.read system/Patient.read system/Group.read system/Claim.read",
             "system/Patient.read system/Group.read", "system/Group.read system/Patient.read"),
            ("system/Patient.read  system/Patient.rs", "system/*.read", "system/Patient.read system/Patient.rs"),
            // A type never served (clinical data) is never granted, even under a wildcard.
            ("system/Observation.read system/Patient.read", "system/*.read", "system/Patient.read"),
            ("system/AuditEvent.read", "system/*.read", "system/AuditEvent.read"),
            // Malformed allowed scopes grant nothing.
            ("system/Patient.read", "system/Bogus.read system/Patient.read openid", "system/Patient.read"),
        ]
        for (requested, allowed, granted) in table {
            XCTAssertEqual(try ScopeGrant.grant(requested: requested, allowed: allowed), granted, "\(requested) ∩ \(allowed)")
        }
    }

    func testSmartFetchAsksForManyTypesAndGetsASubset() throws {
        let requested = ["Patient", "AllergyIntolerance", "Condition", "Coverage", "Device", "Encounter", "Location",
                         "Observation", "Organization", "Practitioner", "PractitionerRole"]
            .map { "system/\($0).read" }.joined(separator: " ")
        let granted = try ScopeGrant.grant(
            requested: requested, allowed: "system/Patient.read system/Coverage.rs system/Group.read")
        XCTAssertEqual(granted, "system/Patient.read system/Coverage.read")
    }

    func testGrantFailures() {
        let table: [(String, String, String)] = [
            ("", "system/*.read", "no scope was requested"),
            ("   ", "system/*.read", "no scope was requested"),
            ("system/Patient.read system/Bogus.read", "system/*.read", "'system/Bogus.read'"),
            ("system/Patient.x", "system/*.*", "'system/Patient.x'"),
            ("openid system/Patient.read", "system/*.read", "'openid'"),
            ("system/Patient.read", "", "none of the requested scopes"),
            ("system/Patient.write", "system/*.read", "none of the requested scopes"),
            ("system/Patient.read", "system/Group.read", "none of the requested scopes"),
            ("system/Patient.c", "system/*.rs", "none of the requested scopes"),
            ("system/Observation.read", "system/*.read", "none of the requested scopes"),
        ]
        for (requested, allowed, fragment) in table {
            XCTAssertThrowsError(try ScopeGrant.grant(requested: requested, allowed: allowed), requested) { error in
                let error = error as! OAuthError
                XCTAssertEqual(error.error, "invalid_scope")
                XCTAssertEqual(error.status, 400)
                XCTAssertTrue(error.description.contains(fragment), "\(fragment) ← \(error.description)")
            }
        }
    }

    func testScopeSetChecks() {
        let set = ScopeSet(granted: "system/Patient.read system/Group.rs system/Coverage.s system/Consent.r openid "
            + "system/Observation.write system/Claim.c")
        XCTAssertEqual(set.scopes.count, 6, "openid ignored")
        for type: ResourceType in ["Patient", "Group", "Consent"] { XCTAssertTrue(set.canRead(type), "\(type)") }
        for type: ResourceType in ["Coverage", "Observation", "Claim", "Location"] { XCTAssertFalse(set.canRead(type), "\(type)") }
        XCTAssertTrue(set.canWrite("Observation", action: .create))
        XCTAssertTrue(set.canWrite("Observation", action: .update))
        XCTAssertTrue(set.canWrite("Observation", action: .delete))
        XCTAssertTrue(set.canWrite("Claim", action: .create))
        XCTAssertFalse(set.canWrite("Claim", action: .update))
        XCTAssertFalse(set.canWrite("Patient", action: .create))
        XCTAssertEqual(WriteAction.allCases.map(\.rawValue), ["c", "u", "d"], "r and s are not write actions")
        XCTAssertTrue(set.allows("Group", [.read, .search]))
        XCTAssertFalse(set.allows("Consent", [.read, .search]))

        let export: [ResourceType] = ["Group", "Patient", "Coverage", "Consent", "RelatedPerson"]
        XCTAssertEqual(set.readableTypes(among: export), ["Group", "Patient", "Consent"])
        XCTAssertEqual(set.missingRead(export), ["Coverage", "RelatedPerson"])
        XCTAssertEqual(set.missingRead(export).map(ScopeSet.readScope(for:)),
                       ["system/Coverage.read", "system/RelatedPerson.read"])
    }

    func testWildcardScopeSets() {
        let all = ScopeSet(granted: "system/*.read")
        XCTAssertTrue(all.canRead("Consent"))
        XCTAssertFalse(all.canWrite("Consent", action: .create))
        XCTAssertEqual(all.missingRead(["Group", "Patient"]), [])
        let writes = ScopeSet(granted: "system/*.write")
        XCTAssertTrue(writes.canWrite("Patient", action: .update))
        XCTAssertFalse(writes.canRead("Patient"))
        let v2 = ScopeSet(granted: "system/*.cruds")
        XCTAssertTrue(v2.canRead("Patient") && v2.canWrite("Patient", action: .delete))
        // Read and search granted by two scopes together.
        XCTAssertTrue(ScopeSet(granted: "system/*.s system/Patient.r").allows("Patient", [.read, .search]))
        XCTAssertEqual(ScopeSet(granted: "").scopes, [])
        XCTAssertFalse(ScopeSet(granted: "").canRead("Patient"))
    }
}
