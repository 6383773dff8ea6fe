import Foundation
import XCTest
@testable import ExportDomain

final class ATRRulesTests: XCTestCase {
    private static let base = "https://fhir.example.org/r4"
    /// 2026-11-26T12:00:00Z, the "now" of samples/README.md.
    private static let now = FHIRInstant.parseInstant("2026-11-26T12:00:00Z")!

    // MARK: - Helpers

    private func object(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(text) else {
            XCTFail("bad fixture \(text)", file: file, line: line)
            return JSONObject()
        }
        return object
    }

    private func serialized(_ object: JSONObject) -> String { JSONValue.object(object).serializedString }

    private func key(_ text: String) -> ResourceKey {
        ResourceKey.parse(reference: text, baseURL: Self.base)!
    }

    private func instant(_ text: String) -> FHIRInstant { FHIRInstant.parseInstant(text)! }

    /// The sample transaction Bundle's resources by key.
    private static let sample: [ResourceKey: JSONObject] = {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("samples/atr-sample.json")
        guard let data = try? Data(contentsOf: url),
              case .object(let bundle)? = try? JSONParser.parse([UInt8](data)) else { return [:] }
        var resources: [ResourceKey: JSONObject] = [:]
        for entry in bundle["entry"]?.arrayValue ?? [] {
            guard let resource = entry["resource"]?.objectValue,
                  let type = resource["resourceType"]?.stringValue,
                  let id = resource["id"]?.stringValue else { continue }
            resources[ResourceKey(type: ResourceType(rawValue: type), id: id)] = resource
        }
        return resources
    }()

    private func sample(_ reference: String, file: StaticString = #filePath, line: UInt = #line) -> JSONObject {
        guard let resource = Self.sample[key(reference)] else {
            XCTFail("sample has no \(reference)", file: file, line: line)
            return JSONObject()
        }
        return resource
    }

    private func sampleConsents(of patient: ResourceKey) -> [JSONObject] {
        Self.sample.filter { $0.key.type == "Consent" }
            .map(\.value)
            .filter { ReferenceReader.key(of: $0["patient"], baseURL: Self.base) == patient }
    }

    private func patients(_ names: [String]) -> [ResourceKey] {
        names.map { ResourceKey(type: "Patient", id: "patient-\($0)") }
    }

    /// The members of a Group that count, element by element as the export reads them.
    private func countedMembers(of group: JSONObject, now: FHIRInstant = ATRRulesTests.now) -> [GroupMember] {
        let atr = ATRMembership.isATRGroup(group)
        return (group["member"]?.arrayValue ?? []).compactMap { element in
            let member = element.objectValue.flatMap { ATRMembership.member($0, atrGroup: atr, now: now, baseURL: Self.base) }
            XCTAssertEqual(ATRMembership.member(stored: element.serialized(), atrGroup: atr, now: now, baseURL: Self.base), member,
                           "on the stored bytes: \(element.serializedString)")
            return member
        }
    }

    /// Exported members of a sample Group: membership, then opt-out.
    private func exportedMembers(_ group: JSONObject, now: FHIRInstant = ATRRulesTests.now) -> [GroupMember] {
        countedMembers(of: group, now: now)
            .filter { !ConsentEvaluation.isOptedOut(consents: sampleConsents(of: $0.patient), now: now) }
    }

    // MARK: - Sample data (samples/README.md, now = 2026-11-26)

    func testSampleLoads() {
        XCTAssertEqual(Self.sample.count, 42)
    }

    func testSampleATRGroupHasAllTenMembersIncludingInactiveHenry() {
        let group = sample("Group/atr-group-sunrise")
        XCTAssertTrue(ATRMembership.isATRGroup(group))
        let members = countedMembers(of: group)
        XCTAssertEqual(members.map(\.patient),
                       patients(["alice", "bob", "carol", "dan", "erin", "frank", "grace", "henry", "ivy", "jack"]))
        let byPatient = Dictionary(uniqueKeysWithValues: members.map { ($0.patient.id, $0) })
        XCTAssertEqual(byPatient["patient-henry"],
                       GroupMember(patient: key("Patient/patient-henry"),
                                   coverageReferences: [key("Coverage/coverage-henry")],
                                   attributedProviders: [key("Organization/prov-org-sunrise")]))
        XCTAssertEqual(byPatient["patient-bob"]?.attributedProviders, [key("PractitionerRole/role-jones-sunrise")])
        XCTAssertEqual(byPatient["patient-erin"]?.attributedProviders, [key("Organization/prov-org-lakeside")])
        XCTAssertEqual(byPatient["patient-ivy"]?.coverageReferences, [key("Coverage/coverage-ivy-medical")])
        XCTAssertEqual(byPatient["patient-alice"]?.attributedProviders, [key("Practitioner/pract-jones")])
    }

    func testSampleWellnessGroupHasOnlyCurrentActiveMembers() {
        let group = sample("Group/group-wellness-program")
        XCTAssertFalse(ATRMembership.isATRGroup(group))
        let members = countedMembers(of: group)
        // Bob is inactive, Frank's period ended in 2025, Jack's starts in 2027.
        XCTAssertEqual(members.map(\.patient), patients(["alice", "ivy", "grace", "carol"]))
        XCTAssertTrue(members.allSatisfy { $0.coverageReferences.isEmpty && $0.attributedProviders.isEmpty })
        // From 2027-01-01 Jack is in (and Ivy, whose period ended 2026-12-31, is out).
        let later = countedMembers(of: group, now: instant("2027-01-01T00:00:00Z"))
        XCTAssertEqual(later.map(\.patient), patients(["alice", "grace", "jack"]))
    }

    func testSampleGroupEmptyHasNoMembers() {
        let group = sample("Group/group-empty")
        XCTAssertFalse(ATRMembership.isATRGroup(group))
        XCTAssertEqual(countedMembers(of: group), [])
        XCTAssertEqual(ExportReferences.additionalReferences(of: group, baseURL: Self.base), [])
    }

    func testSampleOptOuts() {
        let expected: [String: Bool] = [
            "alice": false, "bob": false, "carol": true, "dan": true, "erin": false,
            "frank": false, "grace": false, "henry": false, "ivy": false, "jack": false, "nonmember": false,
        ]
        for (name, optedOut) in expected {
            let consents = sampleConsents(of: key("Patient/patient-\(name)"))
            XCTAssertEqual(ConsentEvaluation.isOptedOut(consents: consents, now: Self.now), optedOut, name)
        }
        XCTAssertEqual(sampleConsents(of: key("Patient/patient-erin")).count, 2)
        // Erin's decisive Consent is the permit.
        let erin = ConsentEvaluation.mostRecentRelevant(sampleConsents(of: key("Patient/patient-erin")), now: Self.now)
        XCTAssertEqual(erin?.consent["id"]?.stringValue, "consent-erin-optin")
        XCTAssertEqual(erin?.decision, .optIn)
        // Bob's deny is about another use; Frank's is inactive: neither is relevant at all.
        XCTAssertNil(ConsentEvaluation.mostRecentRelevant(sampleConsents(of: key("Patient/patient-bob")), now: Self.now))
        XCTAssertNil(ConsentEvaluation.mostRecentRelevant(sampleConsents(of: key("Patient/patient-frank")), now: Self.now))
    }

    func testSampleTimeWindowFromReadme() {
        // Before 2026-06-15 Erin's opt-in has not started, so she is opted out.
        let erin = sampleConsents(of: key("Patient/patient-erin"))
        XCTAssertTrue(ConsentEvaluation.isOptedOut(consents: erin, now: instant("2026-06-14T23:59:59Z")))
        XCTAssertFalse(ConsentEvaluation.isOptedOut(consents: erin, now: instant("2026-06-15T00:00:00Z")))
        // The results are the same through 2026-12-31.
        let sunrise = sample("Group/atr-group-sunrise")
        for now in ["2026-06-15T00:00:00Z", "2026-11-26T12:00:00Z", "2026-12-31T23:59:59Z"] {
            XCTAssertEqual(exportedMembers(sunrise, now: instant(now)).map(\.patient),
                           patients(["alice", "bob", "erin", "frank", "grace", "henry", "ivy", "jack"]), now)
        }
    }

    func testSampleExportedMembersAndSubsettedGroups() {
        let sunrise = sample("Group/atr-group-sunrise")
        let exported = exportedMembers(sunrise)
        XCTAssertEqual(exported.map(\.patient),
                       patients(["alice", "bob", "erin", "frank", "grace", "henry", "ivy", "jack"]))
        let optedOut = Set(countedMembers(of: sunrise).map(\.patient).filter { !exported.map(\.patient).contains($0) }.map(\.id))
        let kept = (sunrise["member"]?.arrayValue ?? []).filter { Subsetting.keepsMember($0, optedOut: optedOut, baseURL: Self.base) }
        XCTAssertEqual(sunrise["member"]?.arrayValue?.count, kept.count + optedOut.count)
        let henry = kept.first { $0["entity"]?["reference"]?.stringValue == "Patient/patient-henry" }
        XCTAssertEqual(henry?["inactive"], .bool(true))

        let wellness = sample("Group/group-wellness-program")
        XCTAssertEqual(exportedMembers(wellness).map(\.patient), patients(["alice", "ivy", "grace"]))
        let wellnessKept = (wellness["member"]?.arrayValue ?? []).filter {
            Subsetting.keepsMember($0, optedOut: ["patient-carol"], baseURL: Self.base)
        }
        XCTAssertEqual(wellnessKept.count, (wellness["member"]?.arrayValue?.count ?? 0) - 1)
    }

    /// Reproduces the README's "all eight types" tables with the rules of this file and a
    /// minimal traversal (compartment Coverages, RelatedPersons, additional references).
    func testSampleAdditionalResourcesClosure() {
        func closure(_ groupID: String, depth maxDepth: Int) -> [ResourceType: [String]] {
            let group = sample("Group/\(groupID)")
            let members = exportedMembers(group)
            var found: Set<ResourceKey> = [key("Group/\(groupID)")]
            var frontier: [ResourceKey] = ExportReferences.additionalReferences(of: group, baseURL: Self.base)
            for member in members {
                found.insert(member.patient)
                frontier += ExportReferences.additionalReferences(of: sample(member.patient.description), baseURL: Self.base)
                frontier += member.attributedProviders
                var coverages = member.coverageReferences
                for (candidate, resource) in Self.sample where candidate.type == "Coverage" {
                    let refs = ["beneficiary", "subscriber", "policyHolder", "payor"]
                        .flatMap { ReferenceReader.keys(in: resource[$0], baseURL: Self.base) }
                    if refs.contains(member.patient) { coverages.append(candidate) }
                }
                for coverage in coverages where found.insert(coverage).inserted {
                    frontier += ExportReferences.additionalReferences(of: sample(coverage.description), baseURL: Self.base)
                }
                for (candidate, resource) in Self.sample where candidate.type == "RelatedPerson"
                    && ReferenceReader.key(of: resource["patient"], baseURL: Self.base) == member.patient {
                    found.insert(candidate)
                }
            }
            var depth = 1
            while !frontier.isEmpty && depth <= maxDepth {
                var next: [ResourceKey] = []
                for reference in frontier where found.insert(reference).inserted {
                    next += ExportReferences.additionalReferences(of: sample(reference.description), baseURL: Self.base)
                }
                frontier = next
                depth += 1
            }
            return Dictionary(grouping: found, by: \.type).mapValues { $0.map(\.id).sorted() }
        }

        let sunrise = closure("atr-group-sunrise", depth: 2)
        XCTAssertEqual(sunrise["Group"], ["atr-group-sunrise"])
        XCTAssertEqual(sunrise["Patient"], ["patient-alice", "patient-bob", "patient-erin", "patient-frank",
                                            "patient-grace", "patient-henry", "patient-ivy", "patient-jack"])
        XCTAssertEqual(sunrise["Coverage"], ["coverage-alice", "coverage-bob", "coverage-erin", "coverage-frank",
                                             "coverage-grace", "coverage-henry", "coverage-ivy-dental",
                                             "coverage-ivy-medical", "coverage-jack"])
        XCTAssertEqual(sunrise["RelatedPerson"], ["relperson-alice-spouse"])
        XCTAssertEqual(sunrise["Practitioner"], ["pract-jones", "pract-patel"])
        XCTAssertEqual(sunrise["PractitionerRole"], ["role-jones-sunrise"])
        XCTAssertEqual(sunrise["Organization"], ["payer-acme", "prov-org-lakeside", "prov-org-sunrise"])
        XCTAssertEqual(sunrise["Location"], ["loc-sunrise-main"])
        XCTAssertEqual(sunrise.values.map(\.count).reduce(0, +), 26)

        let shallow = closure("atr-group-sunrise", depth: 1)
        XCTAssertNil(shallow["Location"])
        XCTAssertEqual(shallow.values.map(\.count).reduce(0, +), 25)

        let wellness = closure("group-wellness-program", depth: 2)
        XCTAssertEqual(wellness["Patient"], ["patient-alice", "patient-grace", "patient-ivy"])
        XCTAssertEqual(wellness["Coverage"], ["coverage-alice", "coverage-grace", "coverage-ivy-dental", "coverage-ivy-medical"])
        XCTAssertEqual(wellness["RelatedPerson"], ["relperson-alice-spouse"])
        XCTAssertEqual(wellness["Practitioner"], ["pract-jones", "pract-patel"])
        XCTAssertEqual(wellness["PractitionerRole"], ["role-jones-sunrise"])
        XCTAssertEqual(wellness["Organization"], ["payer-acme", "prov-org-sunrise"])
        XCTAssertEqual(wellness["Location"], ["loc-sunrise-main"])

        XCTAssertEqual(closure("group-empty", depth: 2), ["Group": ["group-empty"]])
    }

    func testSampleReferencesPerType() {
        XCTAssertEqual(ExportReferences.additionalReferences(of: sample("PractitionerRole/role-jones-sunrise"), baseURL: Self.base),
                       [key("Practitioner/pract-jones"), key("Organization/prov-org-sunrise"), key("Location/loc-sunrise-main")])
        // coverage-jack's policyHolder is patient-nonmember: Coverage references to a Patient are not followed.
        XCTAssertEqual(ExportReferences.additionalReferences(of: sample("Coverage/coverage-jack"), baseURL: Self.base),
                       [key("Organization/payer-acme")])
        // coverage-alice's policyHolder is a RelatedPerson: not followed either.
        XCTAssertEqual(ExportReferences.additionalReferences(of: sample("Coverage/coverage-alice"), baseURL: Self.base),
                       [key("Organization/payer-acme")])
        XCTAssertEqual(ExportReferences.additionalReferences(of: sample("Patient/patient-ivy"), baseURL: Self.base).first,
                       key("PractitionerRole/role-jones-sunrise"))
        // Location.managingOrganization is not a reference the export follows.
        XCTAssertEqual(ExportReferences.additionalReferences(of: sample("Location/loc-sunrise-main"), baseURL: Self.base), [])
        XCTAssertEqual(ExportReferences.additionalReferences(of: sample("Group/atr-group-sunrise"), baseURL: Self.base),
                       [key("Organization/payer-acme")])
    }

    func testReferencesFromStoredBytesEqualThoseFromTheParsedResource() {
        for (key, resource) in Self.sample {
            let json = JSONValue.object(resource).serialized()
            XCTAssertEqual(ExportReferences.additionalReferences(type: key.type, json: json, baseURL: Self.base),
                           ExportReferences.additionalReferences(of: resource, baseURL: Self.base), "\(key)")
        }
        let spaced = Array(#"{ "resourceType" : "Patient", "na\u006de": [], "managingOrganization" : { "reference" : "Organization/o1" } }"#.utf8)
        XCTAssertEqual(ExportReferences.additionalReferences(type: "Patient", json: spaced, baseURL: Self.base), [key("Organization/o1")])
        XCTAssertEqual(ExportReferences.additionalReferences(type: "Patient", json: Array("{\"managingOrg".utf8), baseURL: Self.base), [])
    }

    // MARK: - ATRMembership

    func testIsATRGroup() {
        let profile = ATRExtension.atrGroupProfile
        XCTAssertTrue(ATRMembership.isATRGroup(object(#"{"resourceType":"Group","meta":{"profile":["x","\#(profile)"]}}"#)))
        XCTAssertTrue(ATRMembership.isATRGroup(object(#"{"resourceType":"Group","meta":{"profile":["\#(profile)|2.1.0"]}}"#)))
        XCTAssertFalse(ATRMembership.isATRGroup(object(#"{"resourceType":"Group","meta":{"profile":["\#(profile)-other"]}}"#)))
        XCTAssertFalse(ATRMembership.isATRGroup(object(#"{"resourceType":"Group","meta":{"profile":"\#(profile)"}}"#)))
        XCTAssertFalse(ATRMembership.isATRGroup(object(#"{"resourceType":"Group","meta":{}}"#)))
        XCTAssertFalse(ATRMembership.isATRGroup(object(#"{"resourceType":"Group"}"#)))
    }

    private func member(_ json: String, atr: Bool = false, now: FHIRInstant = ATRRulesTests.now) -> GroupMember? {
        let member = ATRMembership.member(object(json), atrGroup: atr, now: now, baseURL: Self.base)
        XCTAssertEqual(ATRMembership.member(stored: Array(json.utf8), atrGroup: atr, now: now, baseURL: Self.base), member,
                       "on the stored bytes: \(json)")
        return member
    }

    /// The ATR details read on the stored bytes, shapes the byte path must hand to the parse or read alike.
    func testMemberDetailsOnBytesAreTheParsedOnes() {
        let coverage = ATRExtension.coverageReference, provider = ATRExtension.attributedProvider
        let escaped = provider.replacingOccurrences(of: "/", with: #"\/"#)
        let shapes = [
            #"{"extension":[{"url":"\#(coverage)","valueReference":{"reference":"Coverage/c1"}},{"url":"\#(provider)","valueReference":{"reference":"PractitionerRole/r1"}},{"url":"\#(provider)","valueReference":{"reference":"PractitionerRole/r1"}}],"entity":{"reference":"Patient/p1"}}"#,
            #"{"entity":{"reference":"Patient/p1"},"extension":[{"valueReference":{"reference":"Organization/o1"},"url":"\#(escaped)"}]}"#,
            #"{"entity":{"reference":"Patient/p1"},"extension":[null,{"url":"\#(coverage)","valueReference":{"reference":"Coverage/c1"}}]}"#,
            #"{"entity":{"reference":"Patient/p1"},"extension":[{"url":7,"valueReference":{"reference":"Coverage/c1"}},{"url":"\#(coverage)"}]}"#,
            #"{"entity":{"reference":"Patient/p1"},"extension":[{"url":"\#(coverage)","valueReference":{"reference":"Patient/p2"}},{"url":"\#(provider)","valueReference":{"reference":"Patient/p2"}}]}"#,
            #"{"entity":{"reference":"Patient/p1"},"extension":{"url":"\#(coverage)","valueReference":{"reference":"Coverage/c1"}}}"#,
            #"{"\u0065ntity":{"reference":"Patient/p1"},"extension":[{"url":"\#(coverage)","valueReference":{"reference":"Coverage/c1"}}]}"#,
            #"{"entity":{"reference":"Patient/p1"},"extension":[{"url":"\#(coverage)","valueReference":{"reference":"https://elsewhere.example/Coverage/c1"}}]}"#,
            #"{"entity":{"reference":"Practitioner/d1"},"extension":[]}"#,
            #"{"extension":[]}"#,
            #"{"entity":{"display":"A","reference":"Patient/p1"},"extension":[{"url":"\#(coverage)","valueReference":{"reference":"Coverage\/c1"}}]}"#,
            #"{"entity":{"reference":"Patient\/p1"}}"#, #"{"entity":{"reference":7}}"#, #"{"entity":["Patient/p1"]}"#,
            #"{"entity":null}"#, #"{"entity":{"reference":"https://fhir.example.org/r4/Patient/p1"}}"#,
            #"{"entity":{"display":"no reference"}}"#, #"{"entity":{"reference":"Patient/p1","type":"Patient","reference2":"x"}}"#,
        ]
        for shape in shapes {
            _ = member(shape, atr: true)
            _ = member(shape, atr: false)
        }
        XCTAssertEqual(member(shapes[0], atr: true), GroupMember(patient: key("Patient/p1"), coverageReferences: [key("Coverage/c1")],
                                                                   attributedProviders: [key("PractitionerRole/r1")]))
        XCTAssertEqual(member(shapes[1], atr: true)?.attributedProviders, [key("Organization/o1")], "an escaped URL is still the URL")
        XCTAssertEqual(member(shapes[2], atr: true)?.coverageReferences, [key("Coverage/c1")])
    }

    func testMemberEntityMustBeALocalPatient() {
        XCTAssertEqual(member(#"{"entity":{"reference":"Patient/p1"}}"#)?.patient, key("Patient/p1"))
        XCTAssertEqual(member(#"{"entity":{"reference":"\#(Self.base)/Patient/p1"}}"#)?.patient, key("Patient/p1"))
        XCTAssertEqual(member(#"{"entity":{"reference":"Patient/p1/_history/3"}}"#)?.patient, key("Patient/p1"))
        XCTAssertNil(member(#"{"entity":{"reference":"Practitioner/p1"}}"#))
        XCTAssertNil(member(#"{"entity":{"reference":"Group/g1"}}"#))
        XCTAssertNil(member(##"{"entity":{"reference":"#p1"}}"##))
        XCTAssertNil(member(#"{"entity":{"reference":"https://other.example.org/Patient/p1"}}"#))
        XCTAssertNil(member(#"{"entity":{"identifier":{"value":"123"}}}"#))
        XCTAssertNil(member(#"{}"#, atr: true))
    }

    func testInactiveMembers() {
        let json = #"{"entity":{"reference":"Patient/p1"},"inactive":true}"#
        XCTAssertNil(member(json))
        XCTAssertNotNil(member(json, atr: true))
        XCTAssertNotNil(member(#"{"entity":{"reference":"Patient/p1"},"inactive":false}"#))
    }

    func testMemberPeriodBoundaries() {
        func current(_ period: String, now: String = "2026-11-26T12:00:00Z") -> Bool {
            member(#"{"entity":{"reference":"Patient/p1"},"period":\#(period)}"#, now: instant(now)) != nil
        }
        XCTAssertTrue(current(#"{}"#))
        XCTAssertTrue(current(#"null"#))
        // start: inclusive
        XCTAssertTrue(current(#"{"start":"2026-11-26T12:00:00Z"}"#))
        XCTAssertFalse(current(#"{"start":"2026-11-26T12:00:00.001Z"}"#))
        XCTAssertTrue(current(#"{"start":"2026-11-26"}"#))
        XCTAssertFalse(current(#"{"start":"2026-11-27"}"#))
        XCTAssertFalse(current(#"{"start":"2027"}"#))
        XCTAssertTrue(current(#"{"start":"2026-11"}"#))
        XCTAssertFalse(current(#"{"start":"2026-11-26T13:00:00+00:30"}"#), "12:30Z is after now")
        XCTAssertTrue(current(#"{"start":"2026-11-26T13:00:00+01:00"}"#), "12:00Z is now")
        XCTAssertFalse(current(#"{"end":"2026-11-26T07:00:00-05:00"}"#), "12:00Z is now, end is exclusive")
        // end: exclusive instant, partial dates cover their whole day/month/year
        XCTAssertFalse(current(#"{"end":"2026-11-26T12:00:00Z"}"#))
        XCTAssertTrue(current(#"{"end":"2026-11-26T12:00:00.001Z"}"#))
        XCTAssertTrue(current(#"{"end":"2026-11-26"}"#))
        XCTAssertTrue(current(#"{"end":"2026-11-26"}"#, now: "2026-11-26T23:59:59.999Z"))
        XCTAssertFalse(current(#"{"end":"2026-11-26"}"#, now: "2026-11-27T00:00:00Z"))
        XCTAssertFalse(current(#"{"end":"2026-11-25"}"#))
        XCTAssertTrue(current(#"{"end":"2026-11"}"#))
        XCTAssertFalse(current(#"{"end":"2026-10"}"#))
        XCTAssertTrue(current(#"{"end":"2026"}"#))
        XCTAssertTrue(current(#"{"end":"2026"}"#, now: "2026-12-31T23:59:59Z"))
        XCTAssertFalse(current(#"{"end":"2025"}"#))
        XCTAssertTrue(current(#"{"start":"2026-01-01","end":"2026-12-31"}"#))
        // Malformed periods do not cover now (for an ATR Group the period is not checked).
        XCTAssertFalse(current(#"{"start":"26/11/2026"}"#))
        XCTAssertFalse(current(#"{"end":42}"#))
        XCTAssertFalse(current(#""2026""#))
        XCTAssertNotNil(member(#"{"entity":{"reference":"Patient/p1"},"period":{"start":"bogus"}}"#, atr: true))
        XCTAssertNotNil(member(#"{"entity":{"reference":"Patient/p1"},"period":{"end":"2020"}}"#, atr: true))
    }

    func testMemberExtensions() {
        let json = #"""
        {"extension":[
          {"url":"\#(ATRExtension.coverageReference)","valueReference":{"reference":"Coverage/c1"}},
          {"url":"\#(ATRExtension.coverageReference)","valueReference":{"reference":"Coverage/c1"}},
          {"url":"\#(ATRExtension.coverageReference)","valueReference":{"reference":"Patient/p9"}},
          {"url":"\#(ATRExtension.coverageReference)","valueReference":{"reference":"https://other.example.org/Coverage/c2"}},
          {"url":"\#(ATRExtension.coverageReference)","valueReference":{"reference":"\#(Self.base)/Coverage/c3"}},
          {"url":"\#(ATRExtension.attributedProvider)","valueReference":{"reference":"PractitionerRole/r1"}},
          {"url":"\#(ATRExtension.attributedProvider)","valueReference":{"reference":"Organization/o1"}},
          {"url":"\#(ATRExtension.attributedProvider)","valueReference":{"reference":"Patient/p9"}},
          {"url":"\#(ATRExtension.attributedProvider)","valueReference":{"reference":"#contained"}},
          {"url":"\#(ATRExtension.attributedProvider)","valueReference":{"display":"Dr. Nobody"}},
          {"url":"\#(ATRExtension.attributedProvider)","valueReference":{"reference":"Practitioner/x1"}},
          {"url":"\#(ATRExtension.attributedProvider)","valueReference":{"reference":"PractitionerRole/r1"}},
          {"url":"http://example.org/other","valueReference":{"reference":"Practitioner/x2"}}
        ],
        "entity":{"reference":"Patient/p1"},"inactive":true}
        """#
        XCTAssertEqual(member(json, atr: true),
                       GroupMember(patient: key("Patient/p1"),
                                   coverageReferences: [key("Coverage/c1"), key("Coverage/c3")],
                                   attributedProviders: [key("PractitionerRole/r1"), key("Organization/o1"),
                                                         key("Practitioner/x1")]))
        XCTAssertNil(member(json, atr: false))
    }

    // MARK: - ConsentEvaluation

    private enum UseCase { case yes, no, absent }

    private func consent(_ type: String, status: String = "active", useCase: UseCase = .yes,
                         period: String? = nil, dateTime: String? = nil, lastUpdated: String? = nil) -> JSONObject {
        var json = #"{"resourceType":"Consent","#
        if let lastUpdated { json += #""meta":{"lastUpdated":"\#(lastUpdated)"},"# }
        json += #""status":"\#(status)","patient":{"reference":"Patient/p1"},"#
        if let dateTime { json += #""dateTime":"\#(dateTime)","# }
        json += #""provision":{"type":"\#(type)","#
        if let period { json += #""period":\#(period),"# }
        switch useCase {
        case .yes: json += #""action":[{"extension":[{"url":"\#(ATRExtension.providerAccessUseCase)","valueBoolean":true}]}]}}"#
        case .no: json += #""action":[{"extension":[{"url":"\#(ATRExtension.providerAccessUseCase)","valueBoolean":false}]}]}}"#
        case .absent: json += #""action":[{"coding":[{"code":"disclose"}]}]}}"#
        }
        return object(json)
    }

    private func optedOut(_ consents: [JSONObject], now: String = "2026-11-26T12:00:00Z") -> Bool {
        ConsentEvaluation.isOptedOut(consents: consents, now: instant(now))
    }

    func testConsentExtensionTrueFalseAbsent() {
        XCTAssertFalse(optedOut([]))
        XCTAssertTrue(optedOut([consent("deny", useCase: .yes)]))
        XCTAssertTrue(optedOut([consent("deny", useCase: .absent)]), "global opt-out")
        XCTAssertFalse(optedOut([consent("deny", useCase: .no)]), "another use")
        XCTAssertFalse(optedOut([consent("permit", useCase: .yes)]))
        XCTAssertFalse(optedOut([consent("permit", useCase: .absent)]))
        // No action at all is "no extension": global.
        XCTAssertTrue(optedOut([object(#"{"resourceType":"Consent","status":"active","provision":{"type":"deny"}}"#)]))
        // The extension on any action counts; true wins over false.
        let twoActions = object(#"""
        {"resourceType":"Consent","status":"active","provision":{"type":"deny","action":[
          {"extension":[{"url":"\#(ATRExtension.providerAccessUseCase)","valueBoolean":false}]},
          {"extension":[{"url":"http://example.org/x","valueBoolean":false},
                        {"url":"\#(ATRExtension.providerAccessUseCase)","valueBoolean":true}]}]}}
        """#)
        XCTAssertTrue(optedOut([twoActions]))
        // An extension elsewhere (not on provision.action) does not make it "about another use".
        let elsewhere = object(#"""
        {"resourceType":"Consent","status":"active",
         "extension":[{"url":"\#(ATRExtension.providerAccessUseCase)","valueBoolean":false}],
         "provision":{"type":"deny","action":[{"coding":[{"code":"disclose"}]}]}}
        """#)
        XCTAssertTrue(optedOut([elsewhere]))
    }

    func testConsentStatusAndProvisionType() {
        for status in ["inactive", "draft", "proposed", "rejected", "entered-in-error"] {
            XCTAssertFalse(optedOut([consent("deny", status: status)]), status)
        }
        XCTAssertFalse(optedOut([object(#"{"resourceType":"Consent","status":"active"}"#)]))
        XCTAssertFalse(optedOut([object(#"{"resourceType":"Consent","status":"active","provision":{"action":[]}}"#)]))
        XCTAssertFalse(optedOut([object(#"{"resourceType":"Consent","status":"active","provision":{"type":"bogus"}}"#)]))
        // An inactive permit does not revoke an active deny.
        XCTAssertTrue(optedOut([consent("deny", dateTime: "2026-01-01"),
                                consent("permit", status: "inactive", dateTime: "2026-06-01")]))
    }

    func testConsentPeriod() {
        XCTAssertTrue(optedOut([consent("deny", period: #"{"start":"2026-01-01"}"#)]))
        XCTAssertTrue(optedOut([consent("deny", period: #"{"start":"2026-11-26T12:00:00Z"}"#)]))
        XCTAssertFalse(optedOut([consent("deny", period: #"{"start":"2026-11-27"}"#)]), "not started")
        XCTAssertFalse(optedOut([consent("deny", period: #"{"start":"2026-01-01","end":"2026-06-30"}"#)]), "ended")
        XCTAssertTrue(optedOut([consent("deny", period: #"{"end":"2026-11-26"}"#)]), "partial end covers the day")
        XCTAssertFalse(optedOut([consent("deny", period: #"{"end":"2026-11-26T12:00:00Z"}"#)]), "end is exclusive")
        // Out-of-period Consents are ignored entirely: an ended permit does not revoke.
        XCTAssertTrue(optedOut([consent("deny", dateTime: "2026-01-01"),
                                consent("permit", period: #"{"end":"2026-10"}"#, dateTime: "2026-06-01")]))
        // An ended later deny does not override an earlier current permit... nor an earlier current deny.
        XCTAssertFalse(optedOut([consent("permit", dateTime: "2026-01-01"),
                                 consent("deny", period: #"{"end":"2026-10"}"#, dateTime: "2026-06-01")]))
        // A malformed period resolves towards privacy: a deny applies, a permit does not.
        XCTAssertTrue(optedOut([consent("deny", period: #"{"start":"soon"}"#)]))
        XCTAssertTrue(optedOut([consent("deny", dateTime: "2026-01-01"),
                                consent("permit", period: #"{"start":"soon"}"#, dateTime: "2026-06-01")]))
    }

    func testConsentOrderingAndRevocation() {
        let deny = consent("deny", dateTime: "2026-02-01")
        let permit = consent("permit", dateTime: "2026-06-15")
        XCTAssertFalse(optedOut([deny, permit]), "a later permit revokes")
        XCTAssertFalse(optedOut([permit, deny]), "order of the input does not matter")
        XCTAssertTrue(optedOut([consent("permit", dateTime: "2026-02-01"), consent("deny", dateTime: "2026-06-15")]),
                      "a later deny opts out again")
        XCTAssertTrue(optedOut([deny, permit, consent("deny", useCase: .absent, dateTime: "2026-09-01")]))
        // A later permit for another use does not revoke.
        XCTAssertTrue(optedOut([deny, consent("permit", useCase: .no, dateTime: "2026-06-15")]))
        // A later deny for another use does not override a provider-access permit.
        XCTAssertFalse(optedOut([consent("permit", dateTime: "2026-02-01"), consent("deny", useCase: .no, dateTime: "2026-06-15")]))
        // Time zones are compared as instants: 23:00-05:00 on the 15th is 04:00Z on the 16th.
        XCTAssertTrue(optedOut([consent("permit", dateTime: "2026-06-16T01:00:00Z"),
                                consent("deny", dateTime: "2026-06-15T23:00:00-05:00")]))
        // Same instant: the deny wins.
        XCTAssertTrue(optedOut([consent("permit", dateTime: "2026-06-15"), consent("deny", dateTime: "2026-06-15T00:00:00Z")]))
    }

    func testConsentOrderingFallsBackToLastUpdated() {
        XCTAssertFalse(optedOut([consent("deny", dateTime: "2026-02-01"),
                                 consent("permit", lastUpdated: "2026-06-15T10:00:00.000Z")]))
        XCTAssertTrue(optedOut([consent("deny", lastUpdated: "2026-08-01T10:00:00.000Z"),
                                consent("permit", dateTime: "2026-06-15")]))
        // dateTime wins over lastUpdated on the same Consent.
        XCTAssertTrue(optedOut([consent("deny", dateTime: "2026-09-01", lastUpdated: "2026-01-01T00:00:00Z"),
                                consent("permit", dateTime: "2026-06-15", lastUpdated: "2026-11-01T00:00:00Z")]))
        // Consents with neither are the oldest.
        XCTAssertTrue(optedOut([consent("permit"), consent("deny", dateTime: "2020-01-01")]))
        XCTAssertFalse(optedOut([consent("deny"), consent("permit", lastUpdated: "2020-01-01T00:00:00Z")]))
        // Among undated ones, a deny wins.
        XCTAssertTrue(optedOut([consent("permit"), consent("deny")]))
        XCTAssertTrue(optedOut([consent("deny"), consent("permit")]))
        // An unreadable dateTime falls back too.
        XCTAssertFalse(optedOut([consent("deny", dateTime: "2026-02-01"),
                                 consent("permit", dateTime: "yesterday", lastUpdated: "2026-06-15T10:00:00Z")]))
    }

    // MARK: - ExportReferences

    private func references(_ json: String) -> [ResourceKey] {
        ExportReferences.additionalReferences(of: object(json), baseURL: Self.base)
    }

    func testReferencesPerType() {
        XCTAssertEqual(references(#"{"resourceType":"Group","managingEntity":{"reference":"Organization/o1"},"member":[{"entity":{"reference":"Patient/p1"}}]}"#),
                       [key("Organization/o1")])
        XCTAssertEqual(references(#"{"resourceType":"Group","managingEntity":{"reference":"Practitioner/x1"}}"#),
                       [key("Practitioner/x1")])
        XCTAssertEqual(references(#"""
            {"resourceType":"Coverage","policyHolder":{"reference":"Organization/o2"},
             "subscriber":{"reference":"Organization/o9"},"beneficiary":{"reference":"Patient/p1"},
             "payor":[{"reference":"Patient/p1"},{"reference":"Organization/o1"},{"reference":"RelatedPerson/r1"},
                      {"reference":"Organization/o2"}]}
            """#),
                       [key("Organization/o1"), key("Organization/o2")])
        XCTAssertEqual(references(#"""
            {"resourceType":"PractitionerRole","location":[{"reference":"Location/l1"},{"reference":"Location/l2"}],
             "organization":{"reference":"Organization/o1"},"practitioner":{"reference":"Practitioner/x1"},
             "healthcareService":[{"reference":"HealthcareService/h1"}]}
            """#),
                       [key("Practitioner/x1"), key("Organization/o1"), key("Location/l1"), key("Location/l2")])
        XCTAssertEqual(references(#"""
            {"resourceType":"Patient","managingOrganization":{"reference":"Organization/o1"},
             "generalPractitioner":[{"reference":"PractitionerRole/r1"},{"reference":"Organization/o1"},
                                    {"reference":"Practitioner/x1"}],
             "link":[{"other":{"reference":"Patient/p2"}}]}
            """#),
                       [key("PractitionerRole/r1"), key("Organization/o1"), key("Practitioner/x1")])
        XCTAssertEqual(references(#"{"resourceType":"Practitioner","id":"x1"}"#), [])
        XCTAssertEqual(references(#"{"resourceType":"Organization","partOf":{"reference":"Organization/o2"}}"#), [])
        XCTAssertEqual(references(#"{"resourceType":"Location","managingOrganization":{"reference":"Organization/o1"},"partOf":{"reference":"Location/l2"}}"#), [])
        XCTAssertEqual(references(#"{"resourceType":"RelatedPerson","patient":{"reference":"Patient/p1"}}"#), [])
        XCTAssertEqual(references(#"{"resourceType":"Consent","organization":[{"reference":"Organization/o1"}]}"#), [])
        XCTAssertEqual(references(#"{"managingEntity":{"reference":"Organization/o1"}}"#), [])
    }

    func testReferencesAreLocalOnly() {
        XCTAssertEqual(references(#"""
            {"resourceType":"Patient","generalPractitioner":[
              {"reference":"#contained"},{"reference":"https://other.example.org/Practitioner/x1"},
              {"reference":"\#(Self.base)/Practitioner/x2"},{"reference":"Practitioner/x2/_history/4"},
              {"identifier":{"value":"1234567893"}},{"reference":"urn:uuid:2f0d9f4c-ef52-4c55-9c8a-000000000000"},
              {"reference":"Practitioner/bad_id"}]}
            """#),
                       [key("Practitioner/x2")])
    }

    // MARK: - Subsetting

    private let subsetted = #"{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"subsetted"}"#

    func testSubsettedTagPlacementAndIdempotence() {
        var noMeta = object(#"{"resourceType":"Patient","id":"p1","active":true}"#)
        Subsetting.addSubsettedTag(&noMeta)
        XCTAssertEqual(serialized(noMeta), #"{"resourceType":"Patient","id":"p1","meta":{"tag":[\#(subsetted)]},"active":true}"#)
        Subsetting.addSubsettedTag(&noMeta)
        XCTAssertEqual(serialized(noMeta), #"{"resourceType":"Patient","id":"p1","meta":{"tag":[\#(subsetted)]},"active":true}"#)

        var noID = object(#"{"resourceType":"Patient","active":true}"#)
        Subsetting.addSubsettedTag(&noID)
        XCTAssertEqual(serialized(noID), #"{"resourceType":"Patient","meta":{"tag":[\#(subsetted)]},"active":true}"#)

        var metaNoTag = object(#"{"resourceType":"Patient","id":"p1","meta":{"versionId":"2","profile":["x"]},"active":true}"#)
        Subsetting.addSubsettedTag(&metaNoTag)
        XCTAssertEqual(serialized(metaNoTag),
                       #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"2","profile":["x"],"tag":[\#(subsetted)]},"active":true}"#)

        var otherTags = object(#"{"resourceType":"Patient","id":"p1","meta":{"tag":[{"system":"s","code":"c"}],"security":[]}}"#)
        Subsetting.addSubsettedTag(&otherTags)
        Subsetting.addSubsettedTag(&otherTags)
        XCTAssertEqual(serialized(otherTags),
                       #"{"resourceType":"Patient","id":"p1","meta":{"tag":[{"system":"s","code":"c"},\#(subsetted)],"security":[]}}"#)

        // A tag with the same system and code (whatever its display) is the same tag.
        let existing = #"{"resourceType":"Patient","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]}}"#
        var already = object(existing)
        Subsetting.addSubsettedTag(&already)
        XCTAssertEqual(serialized(already), existing)
        // SUBSETTED under another system is not it.
        var otherSystem = object(#"{"resourceType":"Patient","meta":{"tag":[{"system":"x","code":"SUBSETTED"}]}}"#)
        Subsetting.addSubsettedTag(&otherSystem)
        XCTAssertEqual(otherSystem["meta"]?["tag"]?.arrayValue?.count, 2)
        // A meta that is not an object is replaced, after id.
        var badMeta = object(#"{"resourceType":"Patient","meta":null,"id":"p1"}"#)
        Subsetting.addSubsettedTag(&badMeta)
        XCTAssertEqual(serialized(badMeta), #"{"resourceType":"Patient","id":"p1","meta":{"tag":[\#(subsetted)]}}"#)
    }

    func testApplyElements() {
        let patient = object(#"""
            {"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"text":{"status":"generated"},
             "identifier":[{"value":"1"}],"active":true,"name":[{"family":"Doe"}],"birthDate":"1970",
             "_birthDate":{"extension":[]},"gender":"female"}
            """#)
        let untyped = Subsetting.applyElements(patient, selectors: [ElementSelector(type: nil, element: "birthDate"),
                                                                    ElementSelector(type: nil, element: "name")])
        XCTAssertTrue(untyped.changed)
        XCTAssertEqual(serialized(untyped.0),
                       #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","tag":[\#(subsetted)]},"name":[{"family":"Doe"}],"birthDate":"1970","_birthDate":{"extension":[]}}"#)

        // Selectors typed for another type do not apply: unchanged.
        let other = Subsetting.applyElements(patient, selectors: [ElementSelector(type: "Coverage", element: "status")])
        XCTAssertFalse(other.changed)
        XCTAssertEqual(other.0, patient)
        // No selectors: unchanged.
        XCTAssertFalse(Subsetting.applyElements(patient, selectors: []).changed)

        // Typed for this type plus typed for another: only this type's apply.
        let typed = Subsetting.applyElements(patient, selectors: [ElementSelector(type: "Patient", element: "gender"),
                                                                  ElementSelector(type: "Coverage", element: "name")])
        XCTAssertEqual(serialized(typed.0),
                       #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","tag":[\#(subsetted)]},"gender":"female"}"#)
        // Untyped plus typed for this type combine.
        let mixed = Subsetting.applyElements(patient, selectors: [ElementSelector(type: nil, element: "active"),
                                                                  ElementSelector(type: "Patient", element: "identifier"),
                                                                  ElementSelector(type: "Coverage", element: "gender")])
        XCTAssertEqual(mixed.0.keys, ["resourceType", "id", "meta", "identifier", "active"])
        // A selector for a missing element removes everything but the mandatory elements; meta is created after id.
        let bare = object(#"{"resourceType":"Coverage","id":"c1","status":"active","order":1,"payor":[]}"#)
        let onlyMissing = Subsetting.applyElements(bare, selectors: [ElementSelector(type: nil, element: "value")])
        XCTAssertTrue(onlyMissing.changed)
        XCTAssertEqual(serialized(onlyMissing.0),
                       #"{"resourceType":"Coverage","id":"c1","meta":{"tag":[\#(subsetted)]},"status":"active","payor":[]}"#)
        // Everything listed or mandatory: nothing removed, no tag.
        let all = Subsetting.applyElements(bare, selectors: [ElementSelector(type: "Coverage", element: "order")])
        XCTAssertFalse(all.changed)
        XCTAssertEqual(all.0, bare)
    }

    func testApplyElementsKeepsTheElementsR4MarksMandatory() {
        let coverage = object(#"""
            {"resourceType":"Coverage","id":"c1","meta":{"versionId":"2"},"identifier":[{"value":"m-1"}],"status":"active",
             "_status":{"id":"s"},"type":{"text":"PPO"},"subscriber":{"reference":"Patient/p1"},
             "beneficiary":{"reference":"Patient/p1"},"relationship":{"text":"self"},"period":{"start":"2026"},
             "payor":[{"reference":"Organization/o1"}],"class":[{"value":"g","type":{"text":"group"}}]}
            """#)
        let subset = Subsetting.applyElements(coverage, selectors: [ElementSelector(type: "Coverage", element: "identifier")])
        XCTAssertTrue(subset.changed)
        XCTAssertEqual(serialized(subset.0), #"{"resourceType":"Coverage","id":"c1","meta":{"versionId":"2","tag":[\#(subsetted)]},"#
                       + #""identifier":[{"value":"m-1"}],"status":"active","_status":{"id":"s"},"beneficiary":{"reference":"Patient/p1"},"#
                       + #""payor":[{"reference":"Organization/o1"}]}"#)

        let group = object(#"""
            {"resourceType":"Group","id":"g1","identifier":[{"value":"x"}],"active":true,"type":"person","actual":true,
             "name":"List","managingEntity":{"reference":"Organization/o1"},"member":[{"entity":{"reference":"Patient/p1"}}]}
            """#)
        let groupSubset = Subsetting.applyElements(group, selectors: [ElementSelector(type: nil, element: "name")])
        XCTAssertEqual(serialized(groupSubset.0),
                       #"{"resourceType":"Group","id":"g1","meta":{"tag":[\#(subsetted)]},"type":"person","actual":true,"name":"List"}"#)

        // A type without mandatory root elements keeps only what was asked for.
        let patient = object(#"{"resourceType":"Patient","id":"p1","active":true,"gender":"male"}"#)
        XCTAssertEqual(Subsetting.applyElements(patient, selectors: [ElementSelector(type: nil, element: "gender")]).0.keys,
                       ["resourceType", "id", "meta", "gender"])
    }

    func testR4MandatoryElementsOfTheExportedTypes() {
        let table = Dictionary(uniqueKeysWithValues: ATRTypes.all.map { ($0, R4MandatoryElements.elements(of: $0)) })
        XCTAssertEqual(table, [
            "Group": ["type", "actual"], "Patient": [], "Coverage": ["status", "beneficiary", "payor"],
            "RelatedPerson": ["patient"], "Practitioner": [], "PractitionerRole": [], "Organization": [], "Location": [],
        ])
        // A choice element is listed under each typed name; every listed type is an R4 resource type.
        XCTAssertEqual(R4MandatoryElements.elements(of: "MedicationRequest"),
                       ["status", "intent", "medicationCodeableConcept", "medicationReference", "subject"])
        XCTAssertEqual(R4MandatoryElements.byType.count, 113)
        XCTAssertEqual(R4MandatoryElements.byType.keys.filter { !$0.isKnown }, [])
    }

    func testKeepsMemberDropsOnlyOptedOutPatients() {
        let optedOut: Set<String> = ["b"]
        func keeps(_ text: String) -> Bool {
            let parsed = Subsetting.keepsMember(try? JSONParser.parse(Array(text.utf8)), optedOut: optedOut, baseURL: Self.base)
            XCTAssertEqual(Subsetting.keepsMember(entityOf: Array(text.utf8), optedOut: optedOut, baseURL: Self.base), parsed,
                           "on the stored bytes: \(text)")
            return parsed
        }
        XCTAssertTrue(keeps(#"{"entity":{"reference":"Patient/a"}}"#))
        XCTAssertFalse(keeps(#"{"entity":{"reference":"Patient/b"}}"#))
        XCTAssertFalse(keeps(#"{"entity":{"reference":"\#(Self.base)/Patient/b"}}"#), "an absolute reference to this server is local")
        XCTAssertTrue(keeps(#"{"entity":{"reference":"Practitioner/b"}}"#))
        XCTAssertTrue(keeps(#"{"entity":{"reference":"https://elsewhere.example/fhir/Patient/b"}}"#))
        XCTAssertTrue(keeps(#""junk""#), "an element that cannot be read stays as it is")
        XCTAssertTrue(keeps(#"{"inactive":true}"#))
        XCTAssertFalse(keeps(#"{"extension":[{"url":"u","valueReference":{"reference":"Patient/a"}}],"\u0065ntity":{"reference":"Patient/b"}}"#),
                       "an escaped name")
        XCTAssertTrue(keeps(#"{"period":{"start":"2026"},"entity":{"reference":"Patient/a"},"extension":[{"entity":{"reference":"Patient/b"}}]}"#))
        XCTAssertTrue(keeps(#"{"entity":"Patient/b"}"#))
        XCTAssertFalse(keeps(#"{"entity":{"reference":"Patient\/b"}}"#), "an escaped reference")
        XCTAssertTrue(keeps(#"{"entity":{"reference":null}}"#))
    }
}

final class ResourceScanTests: XCTestCase {
    private func scan(_ text: String) -> (ResourceScan?, [String]) {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            guard let scan = ResourceScan(raw) else { return (nil, []) }
            return (scan, scan.properties.map { String(decoding: raw[$0.value], as: UTF8.self) })
        }
    }

    func testPropertiesWithTheirValueBytes() {
        let (result, values) = scan(#"{"a":"x\"}","b" : [1,{"c":"]"}], "\u0064":true,"e":null}"#)
        XCTAssertEqual(result?.properties.map(\.key), ["a", "b", "d", "e"])
        XCTAssertEqual(values, [#""x\"}""#, #"[1,{"c":"]"}]"#, "true", "null"])
    }

    func testMalformedInputIsNil() {
        XCTAssertNil(scan(#"["a"]"#).0)
        XCTAssertNil(scan(#"{"a":"unterminated}"#).0)
        XCTAssertNil(scan(#"{"a":[1,2}"#).0)
        XCTAssertNil(scan(#"{"a" 1}"#).0)
    }

    func testElementsOfAnArray() {
        let bytes = Array(#"{"member":[{"x":1}, {"y":[2,3]} ,"z"]}"#.utf8)
        bytes.withUnsafeBytes { raw in
            guard let range = ResourceScan(raw)?.value("member") else { return XCTFail("no member") }
            var elements: [String] = []
            XCTAssertTrue(ResourceScan.forEachElement(in: raw, array: range) { elements.append(String(decoding: raw[$0], as: UTF8.self)) })
            XCTAssertEqual(elements, [#"{"x":1}"#, #"{"y":[2,3]}"#, #""z""#])
        }
    }

    func testTheQuoteSearchIsTheByteByByteOne() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 200] {
            for _ in 0..<40 {
                let bytes = (0..<length).map { _ in Int.random(in: 0..<12, using: &generator) == 0
                    ? UInt8(ascii: "\"") : UInt8.random(in: 0...255, using: &generator) }
                for from in Set([0, length / 2, max(0, length - 1), length]) {
                    let naive = bytes[min(from, length)...].firstIndex(of: UInt8(ascii: "\""))
                    XCTAssertEqual(bytes.firstQuote(from: from), naive, "\(bytes) from \(from)")
                }
            }
        }
        // Bytes just above and below the quote's value, and 0x80 bytes, must not be taken for it.
        let near: [UInt8] = [0x21, 0x23, 0xA2, 0x80, 0xFF, 0x00, 0x02, 0x21, 0x22]
        XCTAssertEqual(near.firstQuote(from: 0), 8)
    }

    func testSameBytesComparesEveryByte() {
        for length in [0, 1, 7, 8, 9, 16, 23] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            bytes.withUnsafeBytes { a in
                XCTAssertTrue(Array(bytes).withUnsafeBytes { a.sameBytes(as: $0) }, "\(length)")
                XCTAssertFalse((bytes + [0]).withUnsafeBytes { a.sameBytes(as: $0) }, "\(length): a longer one")
                for changed in 0..<length {
                    var other = bytes
                    other[changed] ^= 0x40
                    XCTAssertFalse(other.withUnsafeBytes { a.sameBytes(as: $0) }, "\(length): byte \(changed)")
                }
            }
        }
    }

    func testStringsEndAtTheFirstUnescapedQuote() {
        let text = #"{"a":"x\\","b":"y\"\\\"z","c":"\\\\"}"#
        XCTAssertEqual(ResourceScan(Array(text.utf8))?.properties.map(\.key), ["a", "b", "c"])
        XCTAssertEqual(ResourceScan.values(of: [Array("c".utf8)], in: Array(text.utf8))?.first??.count, 6)
        XCTAssertNil(ResourceScan(Array(#"{"a":"x\"}"#.utf8)))
    }

    func testTheCountedArrayHasTheElementsForEachElementVisits() {
        for text in [#"{"member":[],"b":1}"#, #"{"member":[{"a":[1,2]}]}"#, #"{"a":[1],"member":[ "x,]" , {"b":"\"],"} ,[3,[4]] ]}"#,
                     #"{"member":[1,2,3],"member":[4]}"#] {
            let bytes = Array(text.utf8)
            let scan = ResourceScan(bytes, countingElementsOf: "member")
            var visited = 0
            XCTAssertTrue(ResourceScan.forEachElement(in: bytes, array: try XCTUnwrap(scan?.value("member"), text)) { _ in visited += 1 }, text)
            XCTAssertEqual(scan?.countedElements, visited, text)
            XCTAssertEqual(scan?.properties, ResourceScan(bytes)?.properties, text)
        }
        XCTAssertEqual(ResourceScan(Array(#"{"member":{"a":[1,2]}}"#.utf8), countingElementsOf: "member")?.countedElements, .some(nil), "not an array")
        XCTAssertEqual(ResourceScan(Array(#"{"a":[1,2]}"#.utf8), countingElementsOf: "member")?.countedElements, .some(nil), "no such property")
        XCTAssertNil(ResourceScan(Array(#"{"a":[1,2]}"#.utf8)).flatMap(\.countedElements), "not asked")
        for malformed in [#"{"member":[1 2]}"#, #"{"member":[1,2}"#, #"{"member":[1,2"#] {
            XCTAssertNil(ResourceScan(Array(malformed.utf8), countingElementsOf: "member"), malformed)
        }
    }

    func testValuesOfNamedPropertiesAreThoseTheFullScanFinds() {
        let names = ["b", "a", "zz"].map { Array($0.utf8) }
        for text in [#"{"a":"x\"}","b" : [1,{"a":"]"}],"a":2}"#, #"{"zz":{},"b":null}"#, #"{}"#, #" { "c" : 1 } "#] {
            let bytes = Array(text.utf8)
            let full = ResourceScan(bytes)
            XCTAssertEqual(ResourceScan.values(of: names, in: bytes), ["b", "a", "zz"].map { full?.value($0) }, text)
        }
        XCTAssertEqual(ResourceScan.values(of: names, in: Array(#"{"a":1}"#.utf8))?.map { $0?.count }, [nil, 1, nil])
        XCTAssertNil(ResourceScan.values(of: names, in: Array(#"{"\u0061":1}"#.utf8)), "an escaped name: the full scan reads it")
        for malformed in [#"["a"]"#, #"{"a":1"#, #"{"a" 1}"#, #"{"a":1 "b":2}"#, ""] {
            XCTAssertNil(ResourceScan.values(of: names, in: Array(malformed.utf8)), malformed)
        }
    }
}

final class ExportReferenceReaderTests: XCTestCase {
    private static let base = "https://fhir.example.org/r4"

    private static let resources: [(ResourceType, String)] = [
        ("Patient", #"{"resourceType":"Patient","id":"p1","generalPractitioner":[{"reference":"Practitioner/d1"},{"reference":"Organization/o1"},{"reference":"Practitioner/d1"}],"managingOrganization":{"reference":"Organization/o1"}}"#),
        ("Patient", #"{"resourceType":"Patient","id":"p2","generalPractitioner":[{"reference":"Practitioner/d1"},{"reference":"Organization/o1"},{"reference":"Practitioner/d1"}]}"#),
        ("Patient", #"{"resourceType":"Patient","id":"p3","managingOrganization":{"reference":"https://fhir.example.org/r4/Organization/o2"},"generalPractitioner":[{"reference":"Patient/p9"},{"reference":"https://elsewhere.example/Practitioner/x"}]}"#),
        ("Patient", #"{"resourceType":"Patient","id":"p4","managingOrganization":{"reference":"Organization/o3"},"managingOrganization":{"reference":"Organization/o4"}}"#),
        ("Patient", #"{"resourceType":"Patient","id":"p5","\u006danagingOrganization":{"reference":"Organization/o5"}}"#),
        ("Patient", #"{"resourceType":"Patient","id":"p6","managingOrganization":{"reference":"Organization/o6"}"#),
        ("Coverage", #"{"resourceType":"Coverage","id":"c1","policyHolder":{"reference":"Organization/o2"},"payor":[{"reference":"Organization/o1"},{"reference":"Patient/p1"}]}"#),
        ("Coverage", #"{"resourceType":"Coverage","id":"c2","payor":[{"reference":"Organization/o1"},{"reference":"Patient/p1"}]}"#),
        ("PractitionerRole", #"{"resourceType":"PractitionerRole","id":"r1","location":[{"reference":"Location/l1"}],"practitioner":{"reference":"Practitioner/d1"}}"#),
        ("RelatedPerson", #"{"resourceType":"RelatedPerson","id":"rp","patient":{"reference":"Patient/p1"}}"#),
    ]

    func testTheReaderAnswersWhatTheScanAnswersFirstAndRememberedAlike() {
        var reader = ExportReferenceReader(baseURL: Self.base)
        for round in 1...2 {
            for (type, text) in Self.resources {
                let json = Array(text.utf8)
                XCTAssertEqual(reader.additionalReferences(type: type, json: json),
                               ExportReferences.additionalReferences(type: type, json: json, baseURL: Self.base), "round \(round): \(text)")
            }
        }
        XCTAssertEqual(reader.additionalReferences(type: "Patient", json: Array(Self.resources[0].1.utf8)).map(\.description),
                       ["Practitioner/d1", "Organization/o1"])
        XCTAssertEqual(reader.additionalReferences(type: "Patient", json: Array(Self.resources[4].1.utf8)).map(\.description),
                       ["Organization/o5"], "an escaped name is read by the full scan")
    }

    func testPastItsCapacityTheReaderStillAnswersRight() {
        var reader = ExportReferenceReader(baseURL: Self.base)
        for n in 0..<(ExportReferenceReader.capacity + 10) {
            let json = Array(#"{"resourceType":"Patient","managingOrganization":{"reference":"Organization/o\#(n)"}}"#.utf8)
            XCTAssertEqual(reader.additionalReferences(type: "Patient", json: json), [ResourceKey(type: "Organization", id: "o\(n)")])
        }
        XCTAssertEqual(reader.rememberedValues, ExportReferenceReader.capacity)
    }

    func testValuesThatCannotNameATargetAreNeitherParsedNorRemembered() {
        var reader = ExportReferenceReader(baseURL: Self.base)
        for n in 0..<10 {
            let json = Array(#"{"resourceType":"Coverage","policyHolder":{"reference":"RelatedPerson/r\#(n)"},"payor":[{"reference":"Organization/o1"}]}"#.utf8)
            XCTAssertEqual(reader.additionalReferences(type: "Coverage", json: json), [ResourceKey(type: "Organization", id: "o1")])
        }
        XCTAssertEqual(reader.rememberedValues, 1, "only the payor")
        for value in [#"{"reference":"Location\/l1"}"#, #"{"reference":"https://fhir.example.org/r4/Location/l1"}"#, #"[{"reference":"PractitionerRole/x"}]"#] {
            XCTAssertTrue(ExportReferenceReader.mayReferenceATarget(ArraySlice(value.utf8)), value)
        }
        for value in [#"{"reference":"RelatedPerson/r1"}"#, #"{"reference":"Patient/Organization"}"#, #"{"display":"Location"}"#, "[]"] {
            XCTAssertFalse(ExportReferenceReader.mayReferenceATarget(ArraySlice(value.utf8)), value)
        }
    }
}
