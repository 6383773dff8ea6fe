import XCTest
@testable import ExportDomain

/// `MemberDisclosure.exportingGroups`: a provider's REST read follows the export's own rules.
final class MemberDisclosureTests: XCTestCase {
    private let now = FHIRInstant.parseInstant("2026-12-02T10:00:00Z")!
    private let base = "https://localhost:8443/fhir"
    private let alice = ResourceKey(type: "Patient", id: "alice")
    private let bob = ResourceKey(type: "Patient", id: "bob")

    private func json(_ text: String) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(text) else { fatalError("bad JSON in test: \(text)") }
        return object
    }

    private func member(_ patient: String, inactive: Bool = false, coverage: String? = nil) -> JSONObject {
        let ext = coverage.map { #","extension":[{"url":"\#(ATRExtension.coverageReference)","valueReference":{"reference":"Coverage/\#($0)"}}]"# } ?? ""
        return json(#"{"entity":{"reference":"Patient/\#(patient)"},"inactive":\#(inactive)\#(ext)}"#)
    }

    private let optOut = """
    {"resourceType":"Consent","status":"active","dateTime":"2026-01-01","provision":{"type":"deny"}}
    """

    private func groups(_ resource: ResourceKey, _ patients: [MemberDisclosure.Patient], _ groups: [MemberDisclosure.ListingGroup]) -> [String] {
        MemberDisclosure.exportingGroups(of: resource, patients: patients, groups: groups, now: now, baseURL: base)
    }

    func testAPatientIsExportedByTheGroupsThatListIt() {
        let patients = [MemberDisclosure.Patient(key: alice, consents: [], linked: true)]
        let listing = [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("alice")]),
                       MemberDisclosure.ListingGroup(id: "g2", atrGroup: true, members: [member("bob")])]
        XCTAssertEqual(groups(alice, patients, listing), ["g1"])
    }

    func testAnOptedOutPatientIsInNoExport() {
        let patients = [MemberDisclosure.Patient(key: alice, consents: [json(optOut)], linked: true)]
        let listing = [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("alice")])]
        XCTAssertEqual(groups(alice, patients, listing), [])
    }

    func testAnInactiveMemberCountsOnlyInAnATRGroup() {
        let patients = [MemberDisclosure.Patient(key: alice, consents: [], linked: true)]
        XCTAssertEqual(groups(alice, patients, [MemberDisclosure.ListingGroup(id: "atr", atrGroup: true, members: [member("alice", inactive: true)])]), ["atr"])
        XCTAssertEqual(groups(alice, patients, [MemberDisclosure.ListingGroup(id: "plain", atrGroup: false, members: [member("alice", inactive: true)])]), [])
    }

    func testACoverageIsExportedThroughItsPatientOrTheMembersCoverageReference() {
        let coverage = ResourceKey(type: "Coverage", id: "c1")
        let linked = [MemberDisclosure.Patient(key: alice, consents: [], linked: true)]
        XCTAssertEqual(groups(coverage, linked, [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("alice")])]), ["g1"])
        let referenced = [MemberDisclosure.Patient(key: bob, consents: [], linked: false)]
        XCTAssertEqual(groups(coverage, referenced, [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("bob", coverage: "c1")])]), ["g1"])
        XCTAssertEqual(groups(coverage, referenced, [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("bob")])]), [],
                       "a patient the Coverage does not point at, and no coverageReference")
        let optedOut = [MemberDisclosure.Patient(key: bob, consents: [json(optOut)], linked: false)]
        XCTAssertEqual(groups(coverage, optedOut, [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("bob", coverage: "c1")])]), [])
    }

    func testARelatedPersonIsExportedThroughItsPatient() {
        let related = ResourceKey(type: "RelatedPerson", id: "r1")
        let linked = [MemberDisclosure.Patient(key: alice, consents: [], linked: true)]
        XCTAssertEqual(groups(related, linked, [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("alice")])]), ["g1"])
        XCTAssertEqual(groups(related, linked, [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("bob")])]), [])
    }

    func testOtherTypesAreNeverMemberResources() {
        let patients = [MemberDisclosure.Patient(key: alice, consents: [], linked: true)]
        XCTAssertEqual(groups(ResourceKey(type: "Consent", id: "x"), patients,
                              [MemberDisclosure.ListingGroup(id: "g1", atrGroup: true, members: [member("alice")])]), [])
    }
}
