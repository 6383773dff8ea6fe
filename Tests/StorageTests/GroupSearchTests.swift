import ExportDomain
import XCTest
@testable import Storage

/// `Database.searchGroups` over the search and reference indexes: every discovery parameter,
/// OR within a parameter, AND across repetitions, visibility and keyset paging.
final class GroupSearchTests: DatabaseTestCase {
    private let t0 = FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123)
    private static let period = ATRExtension.contractValidityPeriod

    private func put(_ db: Database, _ id: String, _ json: String) throws {
        let value = try JSONParser.parse(Array(json.utf8))
        _ = try db.writeTransaction { try db.put(value.objectValue!, as: ResourceKey(type: "Group", id: id), now: t0) }
    }

    /// g-a … g-e: identifiers, characteristics (coded and boolean values), managing entities and
    /// contract periods a 2026, b 2025, c from 2026-07-01 open, d open until 2026-03-31, e none.
    private func fixture() throws -> Database {
        let db = try open()
        try put(db, "g-a", #"""
            {"resourceType":"Group","type":"person","actual":true,"name":"Sunrise List","identifier":[{"system":"s","value":"a1"}],
             "extension":[{"url":"\#(Self.period)","valuePeriod":{"start":"2026-01-01","end":"2026-12-31"}}],
             "characteristic":[{"code":{"coding":[{"system":"sysC","code":"attributed-to"}]},"valueCodeableConcept":{"coding":[{"system":"sysV","code":"prov-1"}]},"exclude":false},
                               {"code":{"coding":[{"system":"sysC","code":"active"}]},"valueBoolean":true,"exclude":false}],
             "managingEntity":{"reference":"Organization/payer-1"},"member":[{"entity":{"reference":"Patient/p1"}}]}
            """#)
        try put(db, "g-b", #"""
            {"resourceType":"Group","type":"person","actual":true,"name":"Sunset List","identifier":[{"system":"s","value":"b1"},{"system":"t","value":"b2"}],
             "extension":[{"url":"\#(Self.period)","valuePeriod":{"start":"2025-01-01","end":"2025-12-31"}}],
             "characteristic":[{"code":{"coding":[{"system":"sysC","code":"attributed-to"}]},"valueCodeableConcept":{"coding":[{"system":"sysV","code":"prov-2"}]},"exclude":false}],
             "managingEntity":{"reference":"https://localhost:8443/fhir/Organization/payer-2"}}
            """#)
        try put(db, "g-c", #"""
            {"resourceType":"Group","type":"person","actual":true,"identifier":[{"value":"c1"}],
             "extension":[{"url":"\#(Self.period)","valuePeriod":{"start":"2026-07-01"}}],
             "characteristic":[{"code":{"coding":[{"code":"plain"}]},"valueBoolean":false,"exclude":false}],
             "managingEntity":{"reference":"Practitioner/payer-1"}}
            """#)
        try put(db, "g-d", #"""
            {"resourceType":"Group","type":"person","actual":true,"identifier":[{"system":"s","value":"a1"}],
             "extension":[{"url":"\#(Self.period)","valuePeriod":{"end":"2026-03-31"}}]}
            """#)
        try put(db, "g-e", #"{"resourceType":"Group","type":"person","actual":true}"#)
        return db
    }

    func testIdentifierOrWithCommasAndWithRepetition() throws {
        let db = try fixture()
        XCTAssertEqual(try groupIds(db, "identifier=s|a1"), ["g-a", "g-d"])
        XCTAssertEqual(try groupIds(db, "identifier=s|a1,t|b2"), ["g-a", "g-b", "g-d"])
        XCTAssertEqual(try groupIds(db, "identifier=s|a1,s|b1", "identifier=t|b2"), ["g-b"])
        XCTAssertEqual(try groupIds(db, "identifier=s|"), ["g-a", "g-b", "g-d"])
        XCTAssertEqual(try groupIds(db, "identifier=c1"), ["g-c"])
        XCTAssertEqual(try groupIds(db, "identifier=|c1"), ["g-c"])
        XCTAssertEqual(try groupIds(db, "identifier=s|c1"), [])
        XCTAssertEqual(try groupIds(db, "identifier=|a1"), [])
    }

    func testCharacteristicToken() throws {
        let db = try fixture()
        XCTAssertEqual(try groupIds(db, "characteristic=sysC|attributed-to"), ["g-a", "g-b"])
        XCTAssertEqual(try groupIds(db, "characteristic=attributed-to"), ["g-a", "g-b"])
        XCTAssertEqual(try groupIds(db, "characteristic=|plain"), ["g-c"])
        XCTAssertEqual(try groupIds(db, "characteristic=sysC|plain"), [])
        XCTAssertEqual(try groupIds(db, "characteristic=active,plain"), ["g-a", "g-c"])
        XCTAssertEqual(try groupIds(db, "characteristic=active", "characteristic=attributed-to"), ["g-a"])
    }

    func testCharacteristicValueCompositeMatchesWithinOneCharacteristic() throws {
        let db = try fixture()
        XCTAssertEqual(try groupIds(db, "characteristic-value=sysC|attributed-to$sysV|prov-1"), ["g-a"])
        XCTAssertEqual(try groupIds(db, "characteristic-value=attributed-to$prov-2"), ["g-b"])
        XCTAssertEqual(try groupIds(db, "characteristic-value=attributed-to$sysV|"), ["g-a", "g-b"])
        XCTAssertEqual(try groupIds(db, "characteristic-value=sysC|attributed-to$prov-1,attributed-to$prov-2"), ["g-a", "g-b"])
        XCTAssertEqual(try groupIds(db, "characteristic-value=sysC|active$true"), ["g-a"])
        XCTAssertEqual(try groupIds(db, "characteristic-value=plain$false"), ["g-c"])
        XCTAssertEqual(try groupIds(db, "characteristic-value=|plain$false"), ["g-c"])
        XCTAssertEqual(try groupIds(db, "characteristic-value=plain$true"), [])
        XCTAssertEqual(try groupIds(db, "characteristic-value=attributed-to$otherV|prov-1"), [])
        // The code of one characteristic and the value of another do not make a match.
        XCTAssertEqual(try groupIds(db, "characteristic-value=sysC|active$sysV|prov-1"), [])
        XCTAssertEqual(try groupIds(db, "characteristic-value=attributed-to$true"), [])
    }

    func testManagingEntityReference() throws {
        let db = try fixture()
        XCTAssertEqual(try groupIds(db, "managing-entity=Organization/payer-1"), ["g-a"])
        XCTAssertEqual(try groupIds(db, "managing-entity=payer-1"), ["g-a", "g-c"])
        XCTAssertEqual(try groupIds(db, "managing-entity=https://localhost:8443/fhir/Organization/payer-2"), ["g-b"])
        XCTAssertEqual(try groupIds(db, "managing-entity=Organization/payer-2"), ["g-b"], "an absolute reference under the base is local")
        XCTAssertEqual(try groupIds(db, "managing-entity=Organization/payer-1,Organization/payer-2"), ["g-a", "g-b"])
        XCTAssertEqual(try groupIds(db, "managing-entity=Practitioner/payer-2"), [])
    }

    func testPeriodDateSearchOnTheContractPeriod() throws {
        let db = try fixture()
        XCTAssertEqual(try groupIds(db, "period=2026"), ["g-a"])
        XCTAssertEqual(try groupIds(db, "period=eq2025"), ["g-b"])
        XCTAssertEqual(try groupIds(db, "period=2025,2026"), ["g-a", "g-b"])
        XCTAssertEqual(try groupIds(db, "period=ge2026-06-01"), ["g-a", "g-c"])
        XCTAssertEqual(try groupIds(db, "period=gt2026-12-31"), ["g-c"], "g-a's period ends with 2026-12-31")
        XCTAssertEqual(try groupIds(db, "period=gt2026-12-30"), ["g-a", "g-c"])
        XCTAssertEqual(try groupIds(db, "period=lt2026-01-01"), ["g-b", "g-d"])
        XCTAssertEqual(try groupIds(db, "period=le2025-12-31"), ["g-b", "g-d"])
        XCTAssertEqual(try groupIds(db, "period=lt2026-01-01T00:00:00.001Z"), ["g-a", "g-b", "g-d"])
        XCTAssertEqual(try groupIds(db, "period=ge2026-02-01", "period=lt2026-03-01"), ["g-a", "g-d"])
        XCTAssertEqual(try groupIds(db, "period=ge2020", "period=le2030"), ["g-a", "g-b", "g-c", "g-d"], "g-e has no contract period")
    }

    func testCriteriaCombineAndFollowWritesAndReindex() throws {
        let db = try fixture()
        XCTAssertEqual(try groupIds(db, "characteristic=attributed-to", "name=sun"), ["g-a", "g-b"])
        XCTAssertEqual(try groupIds(db, "characteristic=attributed-to", "name=sunset", "period=2025"), ["g-b"])
        XCTAssertEqual(try groupIds(db, "identifier=s|a1", "managing-entity=payer-1", "period=lt2026-06-01"), ["g-a"])
        try db.connection.run("DELETE FROM search_values")
        XCTAssertEqual(try groupIds(db, "characteristic=attributed-to"), [])
        XCTAssertEqual(try db.reindexAll(), 5)
        XCTAssertEqual(try groupIds(db, "characteristic-value=attributed-to$prov-2", "period=2025"), ["g-b"])
        _ = try db.writeTransaction { try db.delete(ResourceKey(type: "Group", id: "g-b"), now: t0) }
        XCTAssertEqual(try groupIds(db, "characteristic=attributed-to"), ["g-a"])
    }

    func testTotalsAndPagesCountOnlyVisibleGroups() throws {
        let db = try fixture()
        let all = try groupSearch(db, ["_count=2"])
        XCTAssertEqual(all.total, 5)
        XCTAssertEqual(all.groups.map(\.key.id), ["g-a", "g-b"])
        XCTAssertEqual(all.nextAfter, "g-b")
        let second = try groupSearch(db, ["_count=2", "_cursor=g-b"])
        XCTAssertEqual(second.groups.map(\.key.id), ["g-c", "g-d"])
        XCTAssertEqual(second.nextAfter, "g-d")
        let last = try groupSearch(db, ["_count=2", "_cursor=g-d"])
        XCTAssertEqual(last.groups.map(\.key.id), ["g-e"])
        XCTAssertNil(last.nextAfter)
        XCTAssertEqual(last.total, 5)
        // A cursor left by a Group deleted since still continues in id order.
        XCTAssertEqual(try groupSearch(db, ["_count=2", "_cursor=g-bb"]).groups.map(\.key.id), ["g-c", "g-d"])

        let hidden: Set<String> = ["g-b", "g-d"]
        let visible = try groupSearch(db, ["_count=2"], include: { !hidden.contains($0) })
        XCTAssertEqual(visible.total, 3)
        XCTAssertEqual(visible.groups.map(\.key.id), ["g-a", "g-c"])
        XCTAssertEqual(visible.nextAfter, "g-c")
        XCTAssertEqual(try groupSearch(db, ["_count=2", "_cursor=g-c"], include: { !hidden.contains($0) }).groups.map(\.key.id), ["g-e"])

        let counted = try groupSearch(db, ["identifier=s|a1", "_summary=count"], include: { !hidden.contains($0) })
        XCTAssertEqual(counted.total, 1)
        XCTAssertEqual(counted.groups.count, 0)
        XCTAssertNil(counted.nextAfter)
    }
}
