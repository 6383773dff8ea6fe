import ExportDomain
import XCTest
@testable import ExportEngine

/// The streaming export, driven through in-memory fakes: every export rule of the README's
/// "Export" decisions, as the scheduler runs it.
final class ExportBuilderTests: XCTestCase {
    static let now = FHIRInstant.parseInstant("2026-11-26T12:00:00Z")!
    static let old = "2026-01-01T00:00:00.000Z"
    static let recent = "2026-11-20T00:00:00.000Z"
    static let atrProfile = #"{"profile":["http://hl7.org/fhir/us/davinci-atr/StructureDefinition/atr-group"],"lastUpdated":"2026-11-20T00:00:00.000Z"}"#

    static func meta(_ lastUpdated: String = old) -> String { #"{"versionId":"1","lastUpdated":"\#(lastUpdated)"}"# }

    static func patient(_ id: String, _ lastUpdated: String = old) -> String {
        #"{"resourceType":"Patient","id":"\#(id)","meta":\#(meta(lastUpdated)),"active":true}"#
    }

    static func member(_ id: String, extra: String = "") -> String {
        #"{"entity":{"reference":"Patient/\#(id)"}\#(extra)}"#
    }

    static let attributedToRole = #","extension":[{"url":"http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-attributedProvider","valueReference":{"reference":"PractitionerRole/role"}}]"#

    /// Three members (p3 opted out), a Coverage with Money, a RelatedPerson, and a provider
    /// directory two references deep behind p1's attributed PractitionerRole.
    static let world: [String] = [
        #"{"resourceType":"Group","id":"atr","meta":\#(atrProfile),"type":"person","actual":true,"member":[\#(member("p1", extra: attributedToRole)),\#(member("p2")),\#(member("p3"))]}"#,
        patient("p1"), patient("p2", recent), patient("p3"),
        #"{"resourceType":"Coverage","id":"cov1","meta":\#(meta()),"status":"active","beneficiary":{"reference":"Patient/p1"},"payor":[{"reference":"Organization/payer"}],"costToBeneficiary":[{"valueMoney":{"value":20,"currency":"USD"}}]}"#,
        #"{"resourceType":"Coverage","id":"cov2","meta":\#(meta(recent)),"status":"active","beneficiary":{"reference":"Patient/p2"},"payor":[{"reference":"Organization/payer"}]}"#,
        #"{"resourceType":"Coverage","id":"cov3","meta":\#(meta()),"status":"active","beneficiary":{"reference":"Patient/p3"},"payor":[{"reference":"Organization/payer"}]}"#,
        #"{"resourceType":"RelatedPerson","id":"r1","meta":\#(meta()),"patient":{"reference":"Patient/p1"}}"#,
        #"{"resourceType":"Consent","id":"optout3","meta":\#(meta()),"status":"active","patient":{"reference":"Patient/p3"},"dateTime":"2026-01-02T00:00:00Z","provision":{"type":"deny"}}"#,
        #"{"resourceType":"Organization","id":"payer","meta":\#(meta()),"name":"Payer"}"#,
        #"{"resourceType":"PractitionerRole","id":"role","meta":\#(meta()),"practitioner":{"reference":"Practitioner/doc"},"organization":{"reference":"Organization/clinic"}}"#,
        #"{"resourceType":"Practitioner","id":"doc","meta":\#(meta())}"#,
        #"{"resourceType":"Organization","id":"clinic","meta":\#(meta())}"#,
    ]

    struct Result {
        let files: InMemoryFiles
        let manifest: [ExportManifest.File]
        let errors: [JSONValue]
        /// Calls of each of the snapshot's batch lookups.
        let lookups: [String: Int]

        /// Every file's name and lines, in manifest order.
        var everything: [String] { manifest.flatMap { [$0.name] + files.lines($0.name) } }

        func ids(_ type: ResourceType) -> [String] {
            manifest.filter { $0.type == type }.flatMap { files.lines($0.name) }.map { line in
                (try? JSONParser.parse(Array(line.utf8)))?["id"]?.stringValue ?? "?"
            }
        }

        func resources(_ type: ResourceType) -> [JSONValue] {
            manifest.filter { $0.type == type }.flatMap { files.lines($0.name) }.compactMap { try? JSONParser.parse(Array($0.utf8)) }
        }

        func lines(_ type: ResourceType) -> [String] { manifest.filter { $0.type == type }.flatMap { files.lines($0.name) } }
    }

    /// The export with its lines written inline and again on the background line stage: both must
    /// write the same files, or fail with the same error (the inline run's result is returned).
    private func export(_ world: [String] = world, unreadable: [String: String] = [:], failGroupReads: Error? = nil,
                        failingFiles: [String: Error] = [:],
                        earlierGroups: [ResourceKey: [String]] = [:],
                        deletions: [(key: ResourceKey, at: FHIRInstant, before: String?)] = [],
                        group: String = "atr", types: [ResourceType] = ATRTypes.all, sliceSize: Int = 256,
                        configure: (inout Settings) -> Void = { _ in }, request adjust: (inout ExportRequest) -> Void = { _ in },
                        checkpoint: @escaping (String) throws -> Void = { _ in },
                        file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        func run(background: Bool) -> Swift.Result<Result, Error> {
            Swift.Result {
                try exportOnce(world, unreadable: unreadable, failGroupReads: failGroupReads, failingFiles: failingFiles,
                               earlierGroups: earlierGroups,
                               deletions: deletions, group: group, types: types, sliceSize: sliceSize, configure: configure,
                               request: adjust, background: background, checkpoint: checkpoint)
            }
        }
        let inline = run(background: false), background = run(background: true)
        switch (inline, background) {
        case (.success(let one), .success(let other)):
            XCTAssertEqual(other.everything, one.everything, "the background line stage writes the same files", file: file, line: line)
            XCTAssertEqual(other.manifest, one.manifest, file: file, line: line)
            XCTAssertEqual(other.errors, one.errors, file: file, line: line)
            XCTAssertEqual(other.lookups, one.lookups, file: file, line: line)
        case (.failure(let one), .failure(let other)):
            XCTAssertEqual("\(other)", "\(one)", "the background line stage fails alike", file: file, line: line)
        default:
            XCTFail("inline \(inline), background \(background)", file: file, line: line)
        }
        return try inline.get()
    }

    private func exportOnce(_ world: [String], unreadable: [String: String], failGroupReads: Error?, failingFiles: [String: Error],
                            earlierGroups: [ResourceKey: [String]], deletions: [(key: ResourceKey, at: FHIRInstant, before: String?)],
                            group: String, types: [ResourceType], sliceSize: Int, configure: (inout Settings) -> Void,
                            request adjust: (inout ExportRequest) -> Void, background: Bool,
                            checkpoint: @escaping (String) throws -> Void) throws -> Result {
        var settings = try SettingsBuilder.build(layers: [], environment: ["ATR_PublicBaseUrl": InMemorySnapshot.baseURL])
        configure(&settings)
        var request = ExportRequest(groupId: group, types: types, typesRequested: true)
        adjust(&request)
        let files = InMemoryFiles()
        files.failingFiles = failingFiles
        let output = NDJSONOutput(files: files, maxFileSize: settings.bulkDataExport.maxFileSize)
        let snapshot = try InMemorySnapshot(world, unreadableGroups: unreadable)
        snapshot.groupReadFailure = failGroupReads
        snapshot.earlierGroupVersions = earlierGroups
        snapshot.deletions = deletions
        let builder = ExportBuilder(settings: settings, snapshot: snapshot, request: request, now: Self.now,
                                    output: output, redactor: settings.atrRedactor(), sliceSize: sliceSize,
                                    backgroundLines: background, checkpoint: checkpoint)
        let errors = try builder.build()
        return Result(files: files, manifest: try output.finish(typeOrder: ATRTypes.all), errors: errors, lookups: snapshot.lookups)
    }

    private func memberReferences(_ group: JSONValue?) -> [String] {
        (group?["member"]?.arrayValue ?? []).compactMap { $0["entity"]?["reference"]?.stringValue }
    }

    private func isSubsetted(_ resource: JSONValue?) -> Bool {
        (resource?["meta"]?["tag"]?.arrayValue ?? []).contains { $0["code"]?.stringValue == "SUBSETTED" }
    }

    // MARK: Members and opt-outs

    func testAnATRListExportsEveryMemberExceptTheOptedOutOneWhoAlsoLeavesTheGroup() throws {
        let result = try export()
        XCTAssertEqual(result.manifest.map(\.name), ["contentGroup.ndjson", "contentPatient.ndjson", "contentCoverage.ndjson",
                                                     "contentRelatedPerson.ndjson", "contentPractitioner.ndjson",
                                                     "contentPractitionerRole.ndjson", "contentOrganization.ndjson"])
        XCTAssertEqual(result.ids("Patient"), ["p1", "p2"])
        XCTAssertEqual(result.ids("Coverage"), ["cov1", "cov2"])
        XCTAssertEqual(result.ids("RelatedPerson"), ["r1"])
        let group = result.resources("Group").first
        XCTAssertEqual(memberReferences(group), ["Patient/p1", "Patient/p2"])
        XCTAssertTrue(isSubsetted(group))
        XCTAssertEqual(result.errors, [])
        XCTAssertEqual(result.manifest.map(\.count), [1, 2, 2, 1, 1, 1, 2])
    }

    func testWithoutOptOutsTheGroupIsWrittenExactlyAsStored() throws {
        let world = Self.world.filter { !$0.contains(#""id":"optout3""#) }
        let result = try export(world)
        XCTAssertEqual(result.lines("Group"), [world[0]])
        XCTAssertEqual(result.ids("Patient"), ["p1", "p2", "p3"])
    }

    func testAnOrdinaryGroupLeavesOutEveryElementOfAnOptedOutMember() throws {
        // p3 (opted out) is listed as a member and again as an inactive element, which does not count.
        let group = #"{"resourceType":"Group","id":"plain","meta":\#(Self.meta()),"type":"person","actual":true,"member":[\#(Self.member("p3", extra: #","inactive":true"#)),\#(Self.member("p1")),\#(Self.member("p3"))]}"#
        let result = try export(Self.world + [group], group: "plain", sliceSize: 2)
        XCTAssertEqual(result.ids("Patient"), ["p1"])
        XCTAssertEqual(memberReferences(result.resources("Group").first), ["Patient/p1"])
        XCTAssertTrue(isSubsetted(result.resources("Group").first))
    }

    func testAnOrdinaryGroupExportsOnlyActiveMembersWhosePeriodCoversNow() throws {
        let group = #"{"resourceType":"Group","id":"plain","meta":\#(Self.meta()),"type":"person","actual":true,"member":[\#(Self.member("p1", extra: #","period":{"start":"2026-01-01","end":"2027-01-01"}"#)),\#(Self.member("p2", extra: #","inactive":true"#)),\#(Self.member("p3x", extra: #","period":{"end":"2026-06-01"}"#))]}"#
        let result = try export(Self.world + [group, Self.patient("p3x")], group: "plain")
        XCTAssertEqual(result.ids("Patient"), ["p1"])
        // Members that do not count stay in the exported Group; only opt-outs are removed.
        XCTAssertEqual(result.lines("Group"), [group])
    }

    func testAMemberListedTwiceIsExportedOnce() throws {
        var world = Self.world
        world[0] = world[0].replacingOccurrences(of: #"\#(Self.member("p2"))"#, with: #"\#(Self.member("p2")),\#(Self.member("p2"))"#)
        XCTAssertEqual(try export(world).ids("Patient"), ["p1", "p2"])
    }

    func testARepeatedMemberContributesTheCoverageReferencesOfEachEntry() throws {
        func coverageExtension(_ id: String) -> String {
            #","extension":[{"url":"http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-coverageReference","valueReference":{"reference":"Coverage/\#(id)"}}]"#
        }
        let group = #"{"resourceType":"Group","id":"twice","meta":\#(Self.atrProfile),"member":[\#(Self.member("p9", extra: coverageExtension("x1"))),\#(Self.member("p9", extra: coverageExtension("x2")))]}"#
        func coverage(_ id: String) -> String {
            #"{"resourceType":"Coverage","id":"\#(id)","meta":\#(Self.meta()),"status":"active","beneficiary":{"reference":"Patient/other"},"payor":[{"reference":"Organization/payer"}]}"#
        }
        let result = try export(Self.world + [group, Self.patient("p9"), coverage("x1"), coverage("x2")], group: "twice", types: ATRTypes.required)
        XCTAssertEqual(result.ids("Patient"), ["p9"])
        XCTAssertEqual(result.ids("Coverage"), ["x1", "x2"])
    }

    // MARK: References

    func testReferencedResourcesAreFollowedToTheConfiguredDepthEachOnce() throws {
        let deep = try export()
        XCTAssertEqual(deep.ids("PractitionerRole"), ["role"])
        XCTAssertEqual(deep.ids("Practitioner"), ["doc"])
        XCTAssertEqual(deep.ids("Organization"), ["payer", "clinic"], "in the order they are reached")

        let shallow = try export(configure: { $0.bulkDataExport.additionalResourcesMaxRecursionDepth = 1 })
        XCTAssertEqual(shallow.ids("PractitionerRole"), ["role"])
        XCTAssertEqual(shallow.ids("Practitioner"), [])
        XCTAssertEqual(shallow.ids("Organization"), ["payer"])
    }

    func testOnlyRequestedTypesAreWrittenAndFollowed() throws {
        let result = try export(types: ATRTypes.required)
        XCTAssertEqual(result.manifest.map(\.type), ["Group", "Patient", "Coverage"])
    }

    // MARK: Parameters

    /// The list as it stood in January, with the same three members.
    static let januaryList: [ResourceKey: [String]] = [ResourceKey(type: "Group", id: "atr"): [
        #"{"resourceType":"Group","id":"atr","meta":{"profile":["http://hl7.org/fhir/us/davinci-atr/StructureDefinition/atr-group"],"lastUpdated":"2026-01-01T00:00:00.000Z"},"type":"person","actual":true,"member":[\#(member("p1")),\#(member("p2")),\#(member("p3"))]}"#,
    ]]
    static let november = FHIRInstant.parseInstant("2026-11-01T00:00:00Z")!

    func testSinceFiltersMemberResourcesButNotTheReferencedOnes() throws {
        let result = try export(earlierGroups: Self.januaryList, request: { $0.since = Self.november })
        XCTAssertEqual(result.ids("Patient"), ["p2"])
        XCTAssertEqual(result.ids("Coverage"), ["cov2"])
        XCTAssertEqual(result.ids("RelatedPerson"), [])
        XCTAssertEqual(result.ids("Group"), ["atr"])
        XCTAssertEqual(result.ids("Organization"), ["payer", "clinic"], "referenced resources regardless of lastUpdated")
    }

    func testSinceExportsAMemberWhoJoinedSinceWholeAndListsWhoLeftAsDeleted() throws {
        // In January the list had p2, p3 and p9; p1 joined since, p9 left.
        let january: [ResourceKey: [String]] = [ResourceKey(type: "Group", id: "atr"): [
            #"{"resourceType":"Group","id":"atr","meta":{"profile":["http://hl7.org/fhir/us/davinci-atr/StructureDefinition/atr-group"],"lastUpdated":"2026-01-01T00:00:00.000Z"},"type":"person","actual":true,"member":[\#(Self.member("p2")),\#(Self.member("p3")),\#(Self.member("p9"))]}"#,
        ]]
        let result = try export(earlierGroups: january, request: { $0.since = Self.november })
        XCTAssertEqual(result.ids("Patient"), ["p1", "p2"], "p1 whole although last updated in January; p2 changed since")
        XCTAssertEqual(result.ids("Coverage"), ["cov1", "cov2"])
        XCTAssertEqual(result.ids("RelatedPerson"), ["r1"])
        XCTAssertEqual(result.lines("Bundle"), [#"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/p9"}}]}"#])
        XCTAssertEqual(result.manifest.filter { $0.type == "Bundle" }.map(\.name), ["deleted.ndjson"])
    }

    /// Members are looked up a slice at a time; the files are those of exporting them one by one,
    /// wherever the slices' edges fall: a Coverage shared across members, a member listed twice,
    /// an element that is not a member, an opt-out, and `_since` with a member who joined.
    func testSlicesOfMembersExportWhatOneByOneWould() throws {
        var world = Self.world
        world[0] = #"{"resourceType":"Group","id":"atr","meta":\#(Self.atrProfile),"type":"person","actual":true,"member":[\#(Self.member("p4")),\#(Self.member("p1", extra: Self.attributedToRole)),{"entity":{"reference":"Location/nowhere"}},\#(Self.member("p3")),\#(Self.member("p2")),\#(Self.member("p5")),\#(Self.member("p4"))]}"#
        world += [Self.patient("p4"), Self.patient("p5", Self.recent),
                  #"{"resourceType":"Coverage","id":"cov45","meta":\#(Self.meta()),"status":"active","beneficiary":{"reference":"Patient/p4"},"subscriber":{"reference":"Patient/p5"},"payor":[{"reference":"Organization/payer"}]}"#]
        let january: [ResourceKey: [String]] = [ResourceKey(type: "Group", id: "atr"): [
            #"{"resourceType":"Group","id":"atr","meta":{"lastUpdated":"2026-01-01T00:00:00.000Z"},"member":[\#(Self.member("p2")),\#(Self.member("p4"))]}"#,
        ]]
        let one = try export(world, sliceSize: 1)
        XCTAssertEqual(one.ids("Patient"), ["p4", "p1", "p2", "p5"])
        XCTAssertEqual(one.ids("Coverage"), ["cov45", "cov1", "cov2"])
        XCTAssertEqual(memberReferences(one.resources("Group").first),
                       ["Patient/p4", "Patient/p1", "Location/nowhere", "Patient/p2", "Patient/p5", "Patient/p4"], "without the opted-out p3")
        XCTAssertEqual(one.lookups["referencing"], 6, "one per member: not the Location")
        let oneSince = try export(world, earlierGroups: january, sliceSize: 1, request: { $0.since = Self.november })
        XCTAssertEqual(oneSince.ids("Patient"), ["p1", "p2", "p5"], "p1 joined, p2 changed, p5 joined and changed")
        XCTAssertEqual(oneSince.ids("Coverage"), ["cov1", "cov2", "cov45"], "cov45 whole for p5 although p4 met it first")
        // Slices of 2: [p4 p1] [Location p3] [p2 p5] [p4].
        for (size, lookups) in [(2, 4), (3, 3), (256, 1)] {
            let sliced = try export(world, sliceSize: size)
            XCTAssertEqual(sliced.everything, one.everything, "slices of \(size)")
            XCTAssertEqual(sliced.lookups["referencing"], lookups, "slices of \(size)")
            let since = try export(world, earlierGroups: january, sliceSize: size, request: { $0.since = Self.november })
            XCTAssertEqual(since.everything, oneSince.everything, "_since, slices of \(size)")
            for adjust in [{ (request: inout ExportRequest) in request.patients = ["Patient/p5", "Patient/p3", "Patient/p4", "Patient/nobody"] },
                           { (request: inout ExportRequest) in request.until = FHIRInstant.parseInstant("2026-06-01T00:00:00Z") }] {
                XCTAssertEqual(try export(world, sliceSize: size, request: adjust).everything,
                               try export(world, sliceSize: 1, request: adjust).everything, "a patient list or _until, slices of \(size)")
            }
        }
        let listed = try export(world, sliceSize: 3, request: { $0.patients = ["Patient/p5", "Patient/p3", "Patient/p4"] })
        XCTAssertEqual(listed.ids("Patient"), ["p4", "p5"])
        XCTAssertEqual(listed.errors.count, 1, "p3 is not an exported member")
    }

    func testAMemberWhoJoinedGetsACoverageSharedWithAMemberWhoDidNotChange() throws {
        // cov1 names p1 (new) as subscriber and p2 (old member) as beneficiary.
        var world = Self.world
        world[4] = #"{"resourceType":"Coverage","id":"cov1","meta":\#(Self.meta()),"status":"active","beneficiary":{"reference":"Patient/p2"},"subscriber":{"reference":"Patient/p1"},"payor":[{"reference":"Organization/payer"}]}"#
        let january: [ResourceKey: [String]] = [ResourceKey(type: "Group", id: "atr"): [
            #"{"resourceType":"Group","id":"atr","meta":{"lastUpdated":"2026-01-01T00:00:00.000Z"},"member":[\#(Self.member("p3")),\#(Self.member("p2"))]}"#,
        ]]
        // The Group lists p1 first; put p2 (old) before p1 (new) so the shared Coverage is met first by the old member.
        world[0] = #"{"resourceType":"Group","id":"atr","meta":\#(Self.atrProfile),"type":"person","actual":true,"member":[\#(Self.member("p2")),\#(Self.member("p1")),\#(Self.member("p3"))]}"#
        let result = try export(world, earlierGroups: january, request: { $0.since = Self.november })
        XCTAssertEqual(result.ids("Coverage"), ["cov2", "cov1"], "cov1 written whole for p1 although p2 met it first")
    }

    func testAMemberWhoOptedOutIsNeverListedAsDeleted() throws {
        let january: [ResourceKey: [String]] = [ResourceKey(type: "Group", id: "atr"): [
            #"{"resourceType":"Group","id":"atr","meta":{"lastUpdated":"2026-01-01T00:00:00.000Z"},"member":[\#(Self.member("p1")),\#(Self.member("p2")),\#(Self.member("p3"))]}"#,
        ]]
        var world = Self.world
        world[0] = #"{"resourceType":"Group","id":"atr","meta":\#(Self.atrProfile),"type":"person","actual":true,"member":[\#(Self.member("p1")),\#(Self.member("p2"))]}"#
        let deletedAt = FHIRInstant.parseInstant("2026-11-10T00:00:00Z")!
        let result = try export(world, earlierGroups: january, deletions: [
            (ResourceKey(type: "Coverage", id: "cov3"), deletedAt, #"{"resourceType":"Coverage","id":"cov3","beneficiary":{"reference":"Patient/p3"}}"#),
        ], request: { $0.since = Self.november })
        XCTAssertEqual(result.lines("Bundle"), [], "p3 opted out: neither the departure nor the Coverage is named")
    }

    func testWithoutTheListAsItStoodAtSinceEveryMemberIsNew() throws {
        let result = try export(request: { $0.since = Self.november })
        XCTAssertEqual(result.ids("Patient"), ["p1", "p2"])
        XCTAssertEqual(result.lines("Bundle"), [])
    }

    func testSinceListsDeletedResourcesOfMembersOnly() throws {
        let deletedAt = FHIRInstant.parseInstant("2026-11-10T00:00:00Z")!
        let result = try export(earlierGroups: Self.januaryList, deletions: [
            (ResourceKey(type: "Coverage", id: "old-cov"), deletedAt,
             #"{"resourceType":"Coverage","id":"old-cov","status":"active","beneficiary":{"reference":"Patient/p2"},"payor":[{"reference":"Organization/payer"}]}"#),
            (ResourceKey(type: "Coverage", id: "strangers"), deletedAt,
             #"{"resourceType":"Coverage","id":"strangers","status":"active","beneficiary":{"reference":"Patient/nobody"},"payor":[{"reference":"Organization/payer"}]}"#),
            (ResourceKey(type: "Coverage", id: "before-since"), FHIRInstant.parseInstant("2026-10-01T00:00:00Z")!,
             #"{"resourceType":"Coverage","id":"before-since","status":"active","beneficiary":{"reference":"Patient/p2"}}"#),
            (ResourceKey(type: "RelatedPerson", id: "gone"), deletedAt, #"{"resourceType":"RelatedPerson","id":"gone","patient":{"reference":"Patient/p1"}}"#),
        ], request: { $0.since = Self.november })
        let urls = result.resources("Bundle").compactMap { $0["entry"]?[0]?["request"]?["url"]?.stringValue }
        XCTAssertEqual(urls, ["Coverage/old-cov", "RelatedPerson/gone"], "never another member's, never one deleted before _since")
    }

    func testUntilFiltersTheOtherWay() throws {
        let result = try export(request: { $0.until = FHIRInstant.parseInstant("2026-06-01T00:00:00Z") })
        XCTAssertEqual(result.ids("Patient"), ["p1"])
        XCTAssertEqual(result.ids("Group"), [], "the Group was last updated after _until")
    }

    func testPatientExportsOnlyThoseMembersAndReportsEveryOtherReferenceWithoutSayingWhy() throws {
        let result = try export(request: { $0.patients = ["Patient/p2", "Patient/p3", "Patient/nobody", "Organization/payer"] })
        XCTAssertEqual(result.ids("Patient"), ["p2"])
        XCTAssertEqual(result.ids("Coverage"), ["cov2"])
        XCTAssertEqual(memberReferences(result.resources("Group").first), ["Patient/p1", "Patient/p2"],
                       "the Group still lists every member that is not opted out")
        XCTAssertEqual(result.errors.map { $0["issue"]?[0]?["diagnostics"]?.stringValue }, [
            "patient 'Organization/payer' is not a reference to a Patient on this server",
            "Patient/nobody is not an exported member of Group/atr",
            "Patient/p3 is not an exported member of Group/atr",
        ])
        XCTAssertEqual(Set(result.errors.map { $0["issue"]?[0]?["severity"]?.stringValue }), ["information"])
    }

    func testElementsKeepsTheListedAndTheBaseElementsAndTagsSubsetted() throws {
        let result = try export(types: ATRTypes.required,
                                request: { $0.elements = [ElementSelector(type: "Patient", element: "gender")] })
        let patient = try XCTUnwrap(result.resources("Patient").first?.objectValue)
        XCTAssertEqual(patient.keys, ["resourceType", "id", "meta"])
        XCTAssertTrue(isSubsetted(.object(patient)))
        XCTAssertEqual(result.lines("Coverage").last, Self.world[5], "other types are untouched")
    }

    // MARK: Redaction

    func testRedactionRemovesMoneyAndLeavesOtherResourcesByteForByte() throws {
        let result = try export(types: ATRTypes.required)
        let coverages = result.resources("Coverage")
        XCTAssertNil(coverages[0]["costToBeneficiary"])
        XCTAssertTrue(isSubsetted(coverages[0]))
        XCTAssertEqual(result.lines("Coverage")[1], Self.world[5])
        XCTAssertEqual(result.lines("Patient"), [Self.world[1], Self.world[2]])
    }

    // MARK: Files and batches

    func testFilesAreSplitPastTheMaximumSizeWithCountsPerFile() throws {
        let files = InMemoryFiles()
        let output = NDJSONOutput(files: files, maxFileSize: 100)
        let line = Array(repeating: UInt8(ascii: "x"), count: 40)
        for _ in 0..<5 { try output.write(type: "Patient", line: line) }
        try output.write(type: "Group", line: line)
        let manifest = try output.finish(typeOrder: ATRTypes.all)
        XCTAssertEqual(manifest.map(\.name), ["contentGroup.ndjson", "contentPatient.ndjson", "contentPatient-2.ndjson", "contentPatient-3.ndjson"])
        XCTAssertEqual(manifest.map(\.count), [1, 2, 2, 1])
        XCTAssertEqual(files.lines("contentPatient-3.ndjson"), [String(repeating: "x", count: 40)])
        XCTAssertTrue(files.files.allSatisfy(\.file.closed))
    }

    func testSplittingKeepsEachFilesCountWhenTypesInterleave() throws {
        let files = InMemoryFiles()
        let output = NDJSONOutput(files: files, maxFileSize: 100)
        let line = Array(repeating: UInt8(ascii: "x"), count: 40)
        for type: ResourceType in ["Patient", "Group", "Patient", "Patient", "Group", "Patient"] {
            try output.write(type: type, line: line)
        }
        let manifest = try output.finish(typeOrder: ATRTypes.all)
        XCTAssertEqual(manifest.map(\.name), ["contentGroup.ndjson", "contentPatient.ndjson", "contentPatient-2.ndjson"])
        XCTAssertEqual(manifest.map(\.count), [2, 2, 2])
        XCTAssertEqual(manifest.map { files.lines($0.name).count }, [2, 2, 2])
    }

    func testAGroupReadFailureEndsTheExportWithThatError() throws {
        struct StorageFailed: Error {}
        XCTAssertThrowsError(try export(failGroupReads: StorageFailed())) { error in
            XCTAssertTrue(error is StorageFailed, "\(error)")
        }
    }

    /// (That nothing after a failed work runs is `LineStageTests`' to check.)
    func testAFailedFileWriteEndsTheExportWithThatError() throws {
        struct DiskFull: Error, CustomStringConvertible { var description: String { "no space left on device" } }
        for failing in ["contentPatient.ndjson", "contentCoverage.ndjson", "contentGroup.ndjson"] {
            XCTAssertThrowsError(try export(failingFiles: [failing: DiskFull()]), failing) { error in
                XCTAssertTrue(error is DiskFull, "\(failing): \(error)")
            }
        }
    }

    func testTheCheckpointRunsEveryBatchAndCanStopTheExport() throws {
        var calls: [String] = []
        // Each of the two runs (inline, background) stops at its third checkpoint. A slice's additional
        // resources are written after its members' (when the next slice starts, or after the last).
        XCTAssertThrowsError(try export(configure: { $0.bulkDataExport.batchSize = 2 }, checkpoint: { progress in
            calls.append(progress)
            if calls.count % 3 == 0 { throw ExportAbandoned() }
        })) { error in
            XCTAssertTrue(error is ExportAbandoned)
        }
        let run = ["exporting: 0 of 3 members, 0 resources written", "exporting: 1 of 3 members, 2 resources written",
                   "exporting: 2 of 3 members, 4 resources written"]
        XCTAssertEqual(calls, run + run)
    }

    // MARK: Failures

    func testAGroupBiggerThanTheLimitEndsTheExportBeforeAnyFileIsWritten() throws {
        var progress: [String] = []
        XCTAssertThrowsError(try export(configure: { $0.bulkDataExport.maxGroupMembers = 2 }, checkpoint: { progress.append($0) })) { error in
            XCTAssertEqual((error as? ExportFailure)?.reason, .groupTooLarge(group: "Group/atr", members: 3, limit: 2))
            XCTAssertEqual((error as? ExportFailure)?.reason.diagnostics,
                           "Group/atr has 3 members; one export takes at most 2 (BulkDataExport.MaxGroupMembers)")
        }
        XCTAssertEqual(progress, [], "refused before the first checkpoint")
        XCTAssertNoThrow(try export(configure: { $0.bulkDataExport.maxGroupMembers = 3 }))
    }

    func testAMissingOrMalformedGroupEndsTheExportWithItsReason() throws {
        XCTAssertThrowsError(try export(group: "gone")) { error in
            XCTAssertEqual((error as? ExportFailure)?.reason, .groupGone(group: "Group/gone"))
        }
        let broken = #"{"resourceType":"Group","id":"broken","meta":\#(Self.meta()),"member":[{"entity":{"reference":"Patient/p1"}},"#
        XCTAssertThrowsError(try export(unreadable: ["broken": broken], group: "broken")) { error in
            XCTAssertEqual((error as? ExportFailure)?.reason, .groupMalformed(group: "Group/broken"))
        }
    }
}
