import ExportDomain
import XCTest
@testable import ExportEngine

/// The Group written in two passes over its bytes equals the Group assembled and changed in
/// memory (opt-outs, then `_elements`, then redaction), for every combination below.
final class GroupLineTests: XCTestCase {
    private static let baseURL = "https://example.org/fhir"
    private static let money = try! Redactor(fhirVersions: ["Fhir4.0"], omitElements: ["descendants().where($this is Money)", "Coverage.costToBeneficiary"])
    private static let memberPath = try! Redactor(fhirVersions: ["Fhir4.0"], omitElements: ["Group.member.period", "descendants().ofType(Money)"])
    private static let notOnBytes = try! Redactor(fhirVersions: ["Fhir4.0"], omitElements: ["Group.member.where(inactive = true)"])

    private func member(_ i: Int) -> String {
        let money = i % 3 == 0 ? #","extension":[{"url":"http://x/premium","valueMoney":{"value":\#(i)}}]"# : ""
        let onlyMoney = i % 7 == 0 ? #"{"extension":[{"url":"u","valueMoney":{"value":1}}]}"# : nil
        return onlyMoney ?? #"{"entity":{"reference":"Patient/p\#(i)"}\#(money),"period":{"start":"2026-01-01"}}"#
    }

    private func group(members: Int, extra: String = "") -> [UInt8] {
        let list = (0..<members).map(member).joined(separator: ",")
        return Array(#"{"resourceType":"Group","id":"g","meta":{"versionId":"1"},"type":"person","actual":true\#(extra),"member":[\#(list)],"name":"n"}"#.utf8)
    }

    /// The in-memory rules, as ExportBuilder applied them before GroupLine.
    private func expected(_ json: [UInt8], optedOut: Set<String>, elements: [ElementSelector], redactor: Redactor) throws -> String? {
        guard case .object(var whole) = try JSONParser.parse(json) else { return nil }
        var changed = false
        let withoutOptedOut = Subsetting.withoutOptedOut(whole, optedOut: optedOut, baseURL: Self.baseURL)
        if withoutOptedOut != whole { changed = true; whole = withoutOptedOut }
        let (subset, subsetChanged) = Subsetting.applyElements(whole, selectors: elements)
        if subsetChanged { changed = true; whole = subset }
        if let redacted = try redactor.redact(type: "Group", resource: whole) { changed = true; whole = redacted }
        return changed ? String(decoding: JSONValue.object(whole).serialized(), as: UTF8.self) : nil
    }

    private func line(_ json: [UInt8], optedOut: Set<String>, elements: [ElementSelector], redactor: Redactor) throws -> (GroupLine, String)? {
        let window = GroupWindow(InMemoryGroup(bytes: json, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 0)))
        let scan = try XCTUnwrap(ResourceScan(window))
        guard let line = GroupLine(group: window, properties: scan.properties,
                                   kept: Subsetting.keptElements(type: "Group", selectors: elements),
                                   redactor: redactor, optedOut: optedOut, baseURL: Self.baseURL) else { return nil }
        var written: [UInt8] = []
        try line.write { written.append(contentsOf: $0) }
        return (line, String(decoding: written, as: UTF8.self))
    }

    func testTheTwoPassesEqualTheInMemoryGroup() throws {
        let cases: [(optedOut: Set<String>, elements: [ElementSelector], redactor: Redactor)] = [
            (["p1", "p5"], [], .inactive),
            ([], [], Self.money),
            (["p2"], [], Self.money),
            ([], [ElementSelector(type: "Group", element: "member")], Self.money),
            (["p4"], [ElementSelector(type: nil, element: "name")], .inactive),
            ([], [], Self.memberPath),
            (Set((0..<40).map { "p\($0)" }), [], Self.money),
        ]
        for (n, testCase) in cases.enumerated() {
            for members in [0, 1, 7, 40] {
                let json = group(members: members, extra: #","characteristic":[{"valueQuantity":{"value":1}},{"valueMoney":{"value":2}}]"#)
                let want = try expected(json, optedOut: testCase.optedOut, elements: testCase.elements, redactor: testCase.redactor)
                let got = try XCTUnwrap(try line(json, optedOut: testCase.optedOut, elements: testCase.elements, redactor: testCase.redactor),
                                        "case \(n), \(members) members: GroupLine gave up")
                XCTAssertEqual(got.0.changed, want != nil, "case \(n), \(members) members")
                XCTAssertFalse(got.0.isStoredAroundDropped, "case \(n), \(members) members: a redactor is given")
                if let want {
                    XCTAssertEqual(got.1, want, "case \(n), \(members) members")
                    XCTAssertEqual(got.0.length, want.utf8.count, "case \(n), \(members) members: the measured length")
                }
            }
        }
    }

    func testWhatBytesCannotDecideGoesToMemory() throws {
        let json = group(members: 3)
        XCTAssertNil(try line(json, optedOut: [], elements: [], redactor: Self.notOnBytes), "an expression that needs the tree")
        let companion = group(members: 3, extra: #","_member":[{"id":"x"}]"#)
        XCTAssertNil(try line(companion, optedOut: [], elements: [], redactor: Self.money), "a change next to its companion")
        let noMeta = Array(#"{"resourceType":"Group","id":"g","member":[{"entity":{"reference":"Patient/p1"}}]}"#.utf8)
        XCTAssertNil(try line(noMeta, optedOut: ["p1"], elements: [], redactor: .inactive), "no meta to tag")
    }

    /// Only opt-outs change it (no redaction can, no `_elements`): the stored bytes around the
    /// members that go, with no pass over the list, whether their ranges are given or found.
    func testOptOutsAloneEqualTheInMemoryGroup() throws {
        let optedOutSets: [Set<String>] = [[], ["p0"], ["p6"], ["p39"], ["p1", "p2", "p3"], ["p0", "p39"], Set((0..<40).map { "p\($0)" }), ["p99"]]
        for optedOut in optedOutSets {
            for members in [0, 1, 7, 40] {
                let json = group(members: members)
                let window = GroupWindow(InMemoryGroup(bytes: json, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 0)))
                let scan = try XCTUnwrap(ResourceScan(window))
                var known: [GroupLine.Dropped] = []
                var index = 0
                _ = ResourceScan.forEachElement(in: window, array: try XCTUnwrap(scan.value("member"))) { range in
                    if !Subsetting.keepsMember(entityOf: window.bytes(range), optedOut: optedOut, baseURL: Self.baseURL) {
                        known.append(GroupLine.Dropped(index: index, range: range))
                    }
                    index += 1
                }
                let want = try expected(json, optedOut: optedOut, elements: [], redactor: .inactive)
                for given in [known, nil] {
                    let label = "\(optedOut.sorted().prefix(3)), \(members) members, ranges \(given == nil ? "found" : "given")"
                    let line = try XCTUnwrap(GroupLine(group: window, properties: scan.properties, kept: nil, redactor: nil,
                                                       optedOut: optedOut, droppedMembers: given, baseURL: Self.baseURL), label)
                    var written: [UInt8] = []
                    try line.write { written.append(contentsOf: $0) }
                    XCTAssertEqual(line.changed, want != nil, label)
                    XCTAssertTrue(line.isStoredAroundDropped, label)
                    if let want {
                        XCTAssertEqual(String(decoding: written, as: UTF8.self), want, label)
                        XCTAssertEqual(line.length, written.count, label)
                    }
                }
            }
        }
    }

    func testManyMembersWithOptOuts() throws {
        // 1% opted out: what GroupLine holds is their indices, not the kept members' ranges.
        let json = group(members: 20_000)
        let optedOut = Set(stride(from: 0, to: 20_000, by: 100).map { "p\($0)" })
        let got = try XCTUnwrap(try line(json, optedOut: optedOut, elements: [], redactor: .inactive))
        XCTAssertEqual(got.1, try expected(json, optedOut: optedOut, elements: [], redactor: .inactive))
    }
}
