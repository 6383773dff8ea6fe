import XCTest
@testable import ExportDomain

final class GroupSearchParsingTests: XCTestCase {
    private let base = "https://x/fhir"

    private func parse(_ items: [(String, String)]) throws -> GroupSearch {
        try GroupSearch.parse(items.map { (name: $0.0, value: $0.1) }, baseURL: base)
    }

    private func assertRefused(_ items: [(String, String)], code: IssueType, mentions: [String], line: UInt = #line) {
        XCTAssertThrowsError(try parse(items), line: line) { error in
            guard let error = error as? FHIRError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(error.status, 400, line: line)
            XCTAssertEqual(error.code, code, "\(error)", line: line)
            for text in mentions { XCTAssertTrue(error.diagnostics.contains(text), "'\(text)' not in \(error.diagnostics)", line: line) }
        }
    }

    func testTokensWithEscapesAndAlternatives() throws {
        let search = try parse([("identifier", #"s|a\,b,|c,d,sys|"#), ("identifier", #"x\|y|z"#)])
        XCTAssertEqual(search.identifiers, [
            [SearchToken(system: .named("s"), code: "a,b"), SearchToken(system: .none, code: "c"),
             SearchToken(system: .any, code: "d"), SearchToken(system: .named("sys"), code: nil)],
            [SearchToken(system: .named("x|y"), code: "z")],
        ])
        XCTAssertEqual(SearchToken(system: .named("x|y"), code: "z").key, #"x\|y|z"#)
        XCTAssertEqual(SearchToken.keys(system: "s", code: "c$1"), [#"c\$1"#, #"s|c\$1"#, "s|"])
        XCTAssertEqual(SearchToken.keys(system: nil, code: "true"), ["true", "|true"])
    }

    func testCompositeReferenceDateAndResultParameters() throws {
        let search = try parse([("characteristic-value", "sysC|attributed-to$prov-1,active$true"), ("managing-entity", "Organization/o1,o2"),
                                ("managing-entity", "https://x/fhir/Practitioner/p"), ("period", "ge2026-01,lt2027"),
                                ("_summary", "true"), ("_count", "5"), ("_cursor", "g-7"), ("name", "Sun")])
        XCTAssertEqual(search.characteristicValues, [[
            .init(code: SearchToken(system: .named("sysC"), code: "attributed-to"), value: SearchToken(system: .any, code: "prov-1")),
            .init(code: SearchToken(system: .any, code: "active"), value: SearchToken(system: .any, code: "true")),
        ]])
        XCTAssertEqual(search.managingEntities, [[.init(type: "Organization", id: "o1"), .init(type: nil, id: "o2")],
                                                 [.init(type: "Practitioner", id: "p")]])
        XCTAssertEqual(search.periods, [[
            DateSearchValue(prefix: .ge, start: FHIRInstant.parseDateTime("2026-01")!, end: FHIRInstant.parseDateTime("2026-02")!),
            DateSearchValue(prefix: .lt, start: FHIRInstant.parseDateTime("2027")!, end: FHIRInstant.parseDateTime("2028")!),
        ]])
        XCTAssertEqual(search.summary, .summary)
        XCTAssertEqual(search.count, 5)
        XCTAssertEqual(search.after, "g-7")
        XCTAssertEqual(search.namePrefix, "Sun")
        XCTAssertEqual(try parse([]), GroupSearch())
        XCTAssertEqual(try parse([("_summary", "count")]).summary, .count)
        XCTAssertEqual(SearchPaging.nextPage([("identifier", "a"), ("_cursor", "g-1"), ("_count", "2")], cursor: "g-3").map { "\($0.name)=\($0.value)" },
                       ["identifier=a", "_count=2", "_cursor=g-3"])
    }

    func testRefusals() {
        assertRefused([("bogus", "x")], code: .notSupported,
                      mentions: ["'bogus'", "identifier, name, characteristic, characteristic-value, managing-entity, period, _summary, _count, _cursor"])
        assertRefused([("member", "Patient/a")], code: .notSupported, mentions: ["'member'"])
        assertRefused([("identifier", "")], code: .value, mentions: ["identifier: ''"])
        assertRefused([("identifier", "a|b|c")], code: .value, mentions: ["identifier: 'a|b|c'", "token"])
        assertRefused([("identifier", #"a\b"#)], code: .value, mentions: ["identifier", "escapes"])
        assertRefused([("characteristic-value", "code")], code: .value, mentions: ["characteristic-value: 'code'", "code$value"])
        assertRefused([("characteristic-value", "a$b$c")], code: .value, mentions: ["characteristic-value"])
        assertRefused([("managing-entity", "https://elsewhere/fhir/Organization/o")], code: .value, mentions: ["managing-entity", "reference"])
        assertRefused([("managing-entity", "bad id!")], code: .value, mentions: ["managing-entity"])
        assertRefused([("period", "2026-13")], code: .value, mentions: ["period: '2026-13'", "ge, gt, le, lt or eq"])
        assertRefused([("period", "sa2026")], code: .value, mentions: ["period: 'sa2026'"])
        assertRefused([("_summary", "text")], code: .notSupported, mentions: ["_summary 'text'", "true, count, false"])
        assertRefused([("_count", "0")], code: .value, mentions: ["_count", "1 to 1000"])
        assertRefused([("_count", "1001")], code: .value, mentions: ["_count"])
        assertRefused([("_cursor", "a/b")], code: .value, mentions: ["_cursor"])
        assertRefused([("name", "a"), ("name", "b")], code: .invalid, mentions: ["name may be given once"])
        assertRefused([("_summary", "true"), ("_summary", "count")], code: .invalid, mentions: ["_summary may be given once"])
    }

    func testDateSearchValueRanges() {
        XCTAssertEqual(DateSearchValue.parse("2026-03-04"),
                       DateSearchValue(prefix: .eq, start: FHIRInstant.parseDateTime("2026-03-04")!, end: FHIRInstant.parseDateTime("2026-03-05")!))
        let instant = FHIRInstant.parseInstant("2026-03-04T10:00:00Z")!
        XCTAssertEqual(DateSearchValue.parse("le2026-03-04T10:00:00Z"),
                       DateSearchValue(prefix: .le, start: instant, end: FHIRInstant(millisecondsSinceEpoch: instant.millisecondsSinceEpoch + 1000)),
                       "a time to the second names the whole second")
        XCTAssertEqual(DateSearchValue.parse("le2026-03-04T10:00:00.000Z")?.end.millisecondsSinceEpoch, instant.millisecondsSinceEpoch + 1)
        XCTAssertNil(DateSearchValue.parse("ne2026"))
        XCTAssertNil(DateSearchValue.parse("x"))
    }

    func testIndexedRowsOfAGroup() throws {
        let group = try JSONParser.parse(Array(#"""
            {"resourceType":"Group","extension":[{"url":"\#(ATRExtension.contractValidityPeriod)","valuePeriod":{"start":"2026-01-01","end":"2026-12-31"}}],
             "characteristic":[{"code":{"coding":[{"system":"c","code":"attributed-to"}]},"valueCodeableConcept":{"coding":[{"code":"p1"}]}},
                               {"code":{"coding":[{"code":"active"}]},"valueBoolean":true}]}
            """#.utf8)).objectValue!
        let rows = GroupSearchIndexing.searchValues(in: group).map { "\($0.parameter) \($0.system ?? "-") \($0.value)" }
        XCTAssertEqual(rows, [
            "characteristic c attributed-to",
            "characteristic-value attributed-to p1", "characteristic-value attributed-to |p1",
            "characteristic-value c|attributed-to p1", "characteristic-value c|attributed-to |p1",
            "characteristic-value c| p1", "characteristic-value c| |p1",
            "characteristic - active",
            "characteristic-value active true", "characteristic-value active |true",
            "characteristic-value |active true", "characteristic-value |active |true",
            "period 1767225600000 1798761600000",
            "_member-count - 0",
        ])
        let open = try JSONParser.parse(Array(#"{"resourceType":"Group","extension":[{"url":"\#(ATRExtension.contractValidityPeriod)","valuePeriod":{"end":"2026"}}]}"#.utf8)).objectValue!
        XCTAssertEqual(GroupSearchIndexing.searchValues(in: open), [IndexedSearchValue(parameter: "period", system: nil, value: "1798761600000"),
                                                                   IndexedSearchValue(parameter: "_member-count", system: nil, value: "0")])
        let listed = try JSONParser.parse(Array(#"{"resourceType":"Group","member":[{"entity":{"reference":"Patient/a"}},{"entity":{"reference":"Patient/b"}}]}"#.utf8)).objectValue!
        XCTAssertEqual(GroupSearchIndexing.searchValues(in: listed), [IndexedSearchValue(parameter: "_member-count", system: nil, value: "2")])
        XCTAssertEqual(GroupSearchIndexing.searchValues(in: ["resourceType": "Patient", "characteristic": [["code": ["coding": [["code": "x"]]]]]]), [])
    }

    func testGroupWithoutMembers() {
        let subsetted = #"{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"subsetted"}"#
        let stored = Array(#"{"resourceType":"Group","id":"g","meta":{"versionId":"3"},"type":"person","member":[{"entity":{"reference":"Patient/a"}}],"actual":true}"#.utf8)
        XCTAssertEqual(Subsetting.groupWithoutMembers(stored).map { String(decoding: $0, as: UTF8.self) },
                       #"{"resourceType":"Group","id":"g","meta":{"versionId":"3","tag":[\#(subsetted)]},"type":"person","actual":true}"#)
        let noMembers = Array(#"{"resourceType":"Group","id":"g","type":"person","actual":true}"#.utf8)
        XCTAssertEqual(Subsetting.groupWithoutMembers(noMembers), noMembers, "nothing removed: as stored, no tag")
        XCTAssertNil(Subsetting.groupWithoutMembers(Array("[]".utf8)))
    }
}
