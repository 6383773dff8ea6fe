import XCTest
@testable import ExportDomain

final class ResourceRulesTests: XCTestCase {
    private func object(_ text: String) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(text) else { fatalError("bad fixture \(text)") }
        return object
    }

    private func status(_ body: () throws -> Void) -> (Int, IssueType)? {
        do { try body() } catch let error as FHIRError { return (error.status, error.code) } catch { return nil }
        return nil
    }

    func testIds() {
        XCTAssertTrue(ResourceID.isValid("a-B.9"))
        XCTAssertTrue(ResourceID.isValid(String(repeating: "x", count: 64)))
        XCTAssertFalse(ResourceID.isValid(String(repeating: "x", count: 65)))
        XCTAssertFalse(ResourceID.isValid(""))
        XCTAssertFalse(ResourceID.isValid("a_b"))
        XCTAssertFalse(ResourceID.isValid("a b"))
        XCTAssertFalse(ResourceID.isValid("é"))
    }

    func testParseResourceFailures() {
        XCTAssertEqual(status { _ = try ResourceInput.parseResource(Array("{".utf8)) }?.1, .structure)
        XCTAssertEqual(status { _ = try ResourceInput.parseResource(Array("[1]".utf8)) }?.1, .structure)
        XCTAssertEqual(status { _ = try ResourceInput.parseResource(Array("{}".utf8)) }?.1, .required)
        XCTAssertEqual(status { _ = try ResourceInput.parseResource(Array(#"{"resourceType":"Bogus"}"#.utf8)) }?.1, .notSupported)
        XCTAssertEqual(status { _ = try ResourceInput.parseResource(Array(#"{"resourceType":"Bundle"}"#.utf8)) }?.1, .notSupported)
        XCTAssertEqual(status { _ = try ResourceInput.parseResource(Array(#"{"resourceType":"Patient","id":"a_b"}"#.utf8)) }?.1, .value)
        XCTAssertEqual(status { try ResourceInput.checkURLType("Bogus") }?.0, 404)
    }

    func testUpdateRules() {
        let patient = object(#"{"resourceType":"Patient","id":"p1"}"#)
        XCTAssertNil(status { try ResourceInput.checkUpdate(patient, type: "Patient", id: "p1") })
        XCTAssertEqual(status { try ResourceInput.checkUpdate(patient, type: "Patient", id: "p2") }?.1, .invalid)
        XCTAssertEqual(status { try ResourceInput.checkUpdate(patient, type: "Group", id: "p1") }?.1, .invalid)
        XCTAssertEqual(status { try ResourceInput.checkUpdate(object(#"{"resourceType":"Patient"}"#), type: "Patient", id: "p1") }?.1, .invalid)
    }

    func testStampPlacesMetaAfterIdAndKeepsTheRest() {
        var resource = object(#"{"resourceType":"Patient","id":"p1","active":true,"birthDate":"1970"}"#)
        ResourceInput.stamp(&resource, id: "p1", versionId: 3, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 0))
        XCTAssertEqual(JSONValue.object(resource).serializedString,
                       #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"1970-01-01T00:00:00.000Z"},"active":true,"birthDate":"1970"}"#)
        var fresh = object(#"{"resourceType":"Patient","meta":{"profile":["x"],"versionId":"9"},"active":true}"#)
        ResourceInput.stamp(&fresh, id: "new", versionId: 1, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 0))
        XCTAssertEqual(JSONValue.object(fresh).serializedString,
                       #"{"resourceType":"Patient","id":"new","meta":{"profile":["x"],"versionId":"1","lastUpdated":"1970-01-01T00:00:00.000Z"},"active":true}"#)
    }

    func testMediaTypes() {
        XCTAssertTrue(MediaType.isJSONResource("application/fhir+json"))
        XCTAssertTrue(MediaType.isJSONResource("application/json; charset=utf-8"))
        XCTAssertTrue(MediaType.isJSONResource("Application/FHIR+JSON;fhirVersion=4.0"))
        XCTAssertFalse(MediaType.isJSONResource("text/plain"))
        XCTAssertFalse(MediaType.isJSONResource(nil))
    }

    func testReferenceParsing() {
        let base = "https://localhost:8443/fhir"
        XCTAssertEqual(ResourceKey.parse(reference: "Patient/p1", baseURL: base), ResourceKey(type: "Patient", id: "p1"))
        XCTAssertEqual(ResourceKey.parse(reference: "Patient/p1/_history/2", baseURL: base), ResourceKey(type: "Patient", id: "p1"))
        XCTAssertEqual(ResourceKey.parse(reference: "https://localhost:8443/fhir/Patient/p1", baseURL: base), ResourceKey(type: "Patient", id: "p1"))
        XCTAssertNil(ResourceKey.parse(reference: "https://other.example/fhir/Patient/p1", baseURL: base))
        XCTAssertNil(ResourceKey.parse(reference: "#contained", baseURL: base))
        XCTAssertNil(ResourceKey.parse(reference: "urn:uuid:1234", baseURL: base))
        XCTAssertNil(ResourceKey.parse(reference: "Bogus/p1", baseURL: base))
        XCTAssertEqual(ResourceKey.parse(reference: "Patient/p1/_history/", baseURL: base), ResourceKey(type: "Patient", id: "p1"))
        for malformed in ["Patient", "Patient/", "/p1", "Patient/p1/", "Patient/p1/history/2", "Patient/p1/_history/2/x",
                          "Patient/p1/_history", "Patient//p1", "Patient/p 1"] {
            XCTAssertNil(ResourceKey.parse(reference: malformed, baseURL: base), malformed)
        }
        // The base URL with or without its trailing slash; nothing but the base and one slash before the type.
        for base in [base, base + "/"] {
            XCTAssertEqual(ResourceKey.parse(reference: "https://localhost:8443/fhir/Coverage/c1", baseURL: base), ResourceKey(type: "Coverage", id: "c1"))
            for other in ["https://localhost:8443/fhirx/Coverage/c1", "https://localhost:8443/fhir//Coverage/c1", "https://localhost:8443/fhir",
                          "https://localhost:8443/fhir/", "http://localhost:8443/fhir/Coverage/c1", "https://localhost:8443/fhir/\u{301}Coverage/c1",
                          "https://localhost:8443/fhir\u{301}/Coverage/c1"] {
                XCTAssertNil(ResourceKey.parse(reference: other, baseURL: base), "\(other) against \(base)")
            }
        }
        XCTAssertEqual(ResourceKey.parse(reference: "http://h/r4/Patient/p1", baseURL: "http://h/r4"), ResourceKey(type: "Patient", id: "p1"))
    }

    func testReferenceIndexOfATRGroup() {
        let group = object("""
        {"resourceType":"Group","id":"g","managingEntity":{"reference":"Organization/payer"},
         "identifier":[{"system":"s","value":"v"}],"name":"Sunrise List",
         "member":[{"entity":{"reference":"Patient/a"},"extension":[
            {"url":"\(ATRExtension.coverageReference)","valueReference":{"reference":"Coverage/ca"}},
            {"url":"\(ATRExtension.attributedProvider)","valueReference":{"reference":"Practitioner/dr"}}]},
          {"entity":{"reference":"Patient/b"}}, {"entity":{"reference":"Patient/a"}}]}
        """)
        let rows = ReferenceIndexing.references(in: group, baseURL: "https://x/fhir").map { "\($0.path) \($0.target)" }
        XCTAssertEqual(rows, ["managingEntity Organization/payer", "member Patient/a", "coverageReference Coverage/ca",
                              "attributedProvider Practitioner/dr", "member Patient/b"])
        XCTAssertEqual(ReferenceIndexing.searchValues(in: group),
                       [.init(parameter: "identifier", system: "s", value: "v"), .init(parameter: "name", system: nil, value: "sunrise list")])
    }

    func testReferenceIndexOfCoverage() {
        let coverage = object(#"{"resourceType":"Coverage","beneficiary":{"reference":"Patient/a"},"subscriber":{"reference":"RelatedPerson/r"},"policyHolder":{"reference":"Organization/o"},"payor":[{"reference":"Organization/o"},{"display":"none"}]}"#)
        let rows = ReferenceIndexing.references(in: coverage, baseURL: "https://x/fhir").map { "\($0.path) \($0.target)" }
        XCTAssertEqual(rows, ["beneficiary Patient/a", "subscriber RelatedPerson/r", "policyHolder Organization/o", "payor Organization/o"])
    }

    func testPreferHeader() {
        let prefer = PreferHeader("respond-async, handling=lenient; return=minimal")
        XCTAssertTrue(prefer.respondAsync)
        XCTAssertTrue(prefer.lenient)
        XCTAssertEqual(prefer.returnPreference, "minimal")
        XCTAssertFalse(PreferHeader(nil).respondAsync)
    }
}
