import ExportDomain
import Foundation
import XCTest
@testable import Storage

/// The export's lookups for a slice of members answer what the one-key lookups answer, across
/// IN lists longer than one statement takes and of every padded size.
final class ExportSliceQueriesTests: DatabaseTestCase {
    private let t0 = FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123)

    private func object(_ text: String) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(text) else { fatalError("bad fixture") }
        return object
    }

    /// 300 Patients; every third has a Coverage (p0's names p1 as subscriber too), p5 a
    /// RelatedPerson, p7 two Consents; p9 and c3 deleted.
    private func world() throws -> Database {
        let db = try open()
        try db.writeTransaction {
            for n in 0..<300 {
                _ = try db.put(object(#"{"resourceType":"Patient","id":"p\#(n)"}"#), as: ResourceKey(type: "Patient", id: "p\(n)"), now: t0)
                if n % 3 == 0 {
                    let subscriber = n == 0 ? #","subscriber":{"reference":"Patient/p1"}"# : ""
                    _ = try db.put(object(#"{"resourceType":"Coverage","id":"c\#(n)","beneficiary":{"reference":"Patient/p\#(n)"}\#(subscriber)}"#),
                                   as: ResourceKey(type: "Coverage", id: "c\(n)"), now: t0)
                }
            }
            _ = try db.put(object(#"{"resourceType":"RelatedPerson","id":"r5","patient":{"reference":"Patient/p5"}}"#),
                           as: ResourceKey(type: "RelatedPerson", id: "r5"), now: t0)
            for id in ["k2", "k1"] {
                _ = try db.put(object(#"{"resourceType":"Consent","id":"\#(id)","patient":{"reference":"Patient/p7"}}"#),
                               as: ResourceKey(type: "Consent", id: id), now: t0)
            }
            _ = try db.delete(ResourceKey(type: "Patient", id: "p9"), now: t0)
            _ = try db.delete(ResourceKey(type: "Coverage", id: "c3"), now: t0)
        }
        return db
    }

    private func patients(_ numbers: some Sequence<Int>) -> [ResourceKey] {
        numbers.map { ResourceKey(type: "Patient", id: "p\($0)") }
    }

    func testMembersNotedASliceAtATimeAreFoundAcrossStatements() throws {
        let db = try open()
        try db.beginSnapshot()
        defer { db.endSnapshot() }
        // 600 earlier members (more than two statements' worth, p3 twice in the first), 300 current
        // ones, half of them also earlier.
        try db.noteMembers(patients([3]) + patients(0..<600), earlier: true)
        try db.noteMembers([], earlier: true)
        try db.noteMembers(patients(450..<750), earlier: false)
        XCTAssertEqual(try db.earlierMemberIds(among: patients(500..<800)), Set((500..<600).map { "p\($0)" }))
        XCTAssertEqual(try db.earlierMemberIds(among: patients([3, 3, 700])), ["p3"])
        XCTAssertEqual(try db.earlierMemberIds(among: []), [])
        XCTAssertEqual(try db.notedMember(ResourceKey(type: "Patient", id: "p460")).earlier, true)
        XCTAssertEqual(try db.notedMember(ResourceKey(type: "Patient", id: "p460")).current, true)
        XCTAssertEqual(try db.notedMember(ResourceKey(type: "Patient", id: "p700")).earlier, false)
        var departed: [String] = []
        try db.forEachDepartedMember { departed.append($0.id) }
        XCTAssertEqual(departed, (0..<450).map { "p\($0)" }.sorted())
        if backend == .sqlite {
            // Looked up through the primary key, never by scanning the members (once per member).
            for sql in [db.notedMemberSQL, db.earlierMembersSQL("?, ?")] {
                let plan = try db.connection.query("EXPLAIN QUERY PLAN " + sql, [.text("p1"), .text("p2")].prefix(sql.filter { $0 == "?" }.count).map { $0 }) { $0.text(3) ?? "" }
                XCTAssertTrue(plan.allSatisfy { $0.contains("USING PRIMARY KEY") }, "\(sql): \(plan)")
            }
        }
    }

    func testReferencingASliceFindsWhatEachMemberFinds() throws {
        let db = try world()
        try db.beginSnapshot()
        defer { db.endSnapshot() }
        let links: [MemberLink] = [.consent, .coverage, .relatedPerson]
        for targets in [patients(0..<300), patients([1]), patients([5, 7, 0]), patients(0..<257), patients([5, 5, 0, 5])] {
            for chosen in [links, [.coverage], [.relatedPerson, .consent], [.coverage, .consent, .coverage], [.listingGroup, .coverageListingGroup]] {
                let expected = try chosen.map { link in
                    var linked: [ResourceKey: [ResourceKey]] = [:]
                    for target in targets {
                        let sources = try db.referencing(target, link)
                        if !sources.isEmpty { linked[target] = sources }
                    }
                    return linked
                }
                XCTAssertEqual(try db.referencing(targets, chosen), expected, "\(chosen.map(\.type)), \(targets.count) targets")
            }
        }
        let p1 = ResourceKey(type: "Patient", id: "p1"), p7 = ResourceKey(type: "Patient", id: "p7")
        XCTAssertEqual(try db.referencing(patients([1, 0, 7]), [.coverage])[0][p1]?.map(\.id), ["c0"], "as subscriber")
        XCTAssertEqual(try db.referencing(patients([7]), [.consent])[0][p7]?.map(\.id), ["k1", "k2"], "in id order")
        XCTAssertEqual(try db.referencing(patients([0]), [.coverage])[0][ResourceKey(type: "Patient", id: "p0")]?.map(\.id), ["c0"],
                       "once, though c0 names p0 as beneficiary and no other path")
        XCTAssertEqual(try db.referencing(patients([3]), [.coverage]), [[:]], "c3 is deleted")
        XCTAssertEqual(try db.referencing([], links), [[:], [:], [:]])
        XCTAssertEqual(try db.referencing(patients([1]), []), [])
    }

    /// PostgreSQL's generic plan for the prepared slice statement (used from the sixth run on)
    /// seeks the reference index once per id, also when the target type has many references:
    /// with `target_id IN (…)` it read them all and picked the ids out.
    func testASliceOfReferencesIsFoundBySeekingEachIdOnPostgreSQL() throws {
        try XCTSkipIf(backend != .postgresql, "PostgreSQL's planner")
        let db = try world()
        try db.connection.execute("""
            INSERT INTO refs (source_type, source_id, path, target_type, target_id)
            SELECT 'Coverage', 'bulk' || n, 'beneficiary', 'Patient', 'bulk' || n FROM generate_series(1, 30000) AS n;
            ANALYZE refs
            """)
        let statement = db.referencingStatement([.consent, .coverage, .relatedPerson], targetType: "Patient", ids: (0..<256).map { "p\($0)" })
        try db.connection.execute("SET plan_cache_mode = force_generic_plan")
        try db.connection.execute("PREPARE probe AS " + PostgreSQLConnection.numberedPlaceholders(statement.sql))
        let arguments = statement.values.map { value -> String in
            guard case .text(let text) = value else { return "NULL" }
            return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        }
        let plan = try db.connection.query("EXPLAIN EXECUTE probe(\(arguments.joined(separator: ", ")))") { $0.text(0) ?? "" }
            .joined(separator: "\n")
        XCTAssertTrue(plan.hasPrefix("Nested Loop"), plan)
        // An index scan, index-only scan or bitmap scan of refs_by_target, seeking one id each time.
        XCTAssertTrue(plan.contains("using refs_by_target on refs") || plan.contains("Bitmap Index Scan on refs_by_target"), plan)
        XCTAssertTrue(plan.contains("(target_id = "), plan)
        XCTAssertFalse(plan.contains("Hash Join") || plan.contains("Hash Semi Join") || plan.contains("Filter: (target_id"), plan)
        XCTAssertEqual(try db.referencing(patients(0..<256), [.coverage])[0].count, 86, "every third (but p3, whose c3 is deleted), and p1 through c0")
    }

    func testCurrentResourcesOfASliceAreTheCurrentVersions() throws {
        let db = try world()
        try db.beginSnapshot()
        defer { db.endSnapshot() }
        let keys = patients((0..<300).reversed()) + [ResourceKey(type: "Coverage", id: "c3"), ResourceKey(type: "Coverage", id: "c6"),
                                                     ResourceKey(type: "Coverage", id: "none"), ResourceKey(type: "Patient", id: "p4")]
        let rows = try db.currentResources(keys)
        XCTAssertEqual(rows.count, 300, "299 Patients (not the deleted p9) and c6")
        for key in Set(keys) {
            let one = try db.currentResource(key)
            XCTAssertEqual(rows[key]?.json, one?.json, "\(key)")
            XCTAssertEqual(rows[key]?.lastUpdated, one?.lastUpdated, "\(key)")
        }
        XCTAssertNil(rows[ResourceKey(type: "Patient", id: "p9")])
        XCTAssertTrue(try db.currentResources([]).isEmpty)
    }

    func testMarkExportedReturnsOnlyWhatWasNotYetInTheExport() throws {
        let db = try world()
        func marks(_ rows: some Sequence<Int64>) -> [ExportMark] { rows.map { .row($0) } }
        try db.beginSnapshot()
        XCTAssertEqual(try db.markExported(marks(0..<3)), Set(marks(0..<3)))
        XCTAssertEqual(try db.markExported(marks(1..<261)), Set(marks(3..<261)), "across two statements")
        XCTAssertEqual(try db.markExported(marks([2, 261, 1 << 40])), Set(marks([261, 1 << 40])))
        XCTAssertEqual(try db.markExported(marks([300, 301, 300])), Set(marks([300, 301])), "a mark repeated")
        XCTAssertEqual(try db.markExported([]), [])
        db.endSnapshot()
        try db.beginSnapshot()
        XCTAssertEqual(try db.markExported(marks([2])), Set(marks([2])), "a new export starts with nothing seen")
        db.endSnapshot()
    }

    /// The marks `currentResources` hands out name each resource once.
    func testTheMarksOfCurrentResourcesMarkEachResourceOnce() throws {
        let db = try world()
        try db.beginSnapshot()
        let keys = patients(0..<280) + [ResourceKey(type: "Coverage", id: "c0"), ResourceKey(type: "RelatedPerson", id: "r5")]
        let rows = try db.currentResources(keys)
        let marks = keys.compactMap { rows[$0]?.mark }
        XCTAssertEqual(marks.count, 281, "279 Patients (not the deleted p9), c0 and r5")
        XCTAssertEqual(Set(marks).count, 281, "one mark per resource")
        let again = try db.currentResources(patients([0, 1]))
        XCTAssertEqual(again[ResourceKey(type: "Patient", id: "p0")]?.mark, rows[ResourceKey(type: "Patient", id: "p0")]?.mark, "the same mark each time")
        XCTAssertEqual(try db.markExported(Array(marks[0..<3])), Set(marks[0..<3]))
        XCTAssertEqual(try db.markExported(Array(marks[1..<270]) + [marks[280], marks[280]]), Set(marks[3..<270] + [marks[280]]),
                       "across two statements, a mark repeated")
        XCTAssertEqual(try db.markExported(marks), Set(marks[270..<280]))
        XCTAssertEqual(try db.markExported(marks), [], "each resource once")
        db.endSnapshot()
        try db.beginSnapshot()
        XCTAssertEqual(try db.markExported([marks[5]]), [marks[5]], "a new export starts with nothing seen")
        db.endSnapshot()
    }

    /// A mark names the snapshot's version of a resource while the snapshot lasts, whatever other
    /// connections write meanwhile (on PostgreSQL an update writes the row's new version
    /// elsewhere, and a vacuum could reuse the space of a version nobody sees).
    func testMarksOutlastOtherConnectionsWritesDuringTheSnapshot() throws {
        let db = try world()
        let writer = try open()
        try db.beginSnapshot()
        let keys = patients(0..<40) + [ResourceKey(type: "Coverage", id: "c0")]
        let before = try db.currentResources(keys).mapValues(\.mark)
        XCTAssertEqual(before.count, 40, "not the deleted p9")
        for round in 1...3 {
            try writer.writeTransaction {
                for n in 0..<20 {
                    _ = try writer.put(object(#"{"resourceType":"Patient","id":"p\#(n)","active":true}"#),
                                       as: ResourceKey(type: "Patient", id: "p\(n)"), now: FHIRInstant(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + Int64(round)))
                }
                _ = try writer.delete(ResourceKey(type: "Coverage", id: "c0"), now: FHIRInstant(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + Int64(round)))
            }
            if writer.connection.backend == .postgresql { try writer.connection.execute("VACUUM resources") }
        }
        let after = try db.currentResources(keys).mapValues(\.mark)
        XCTAssertEqual(after, before, "the snapshot's versions, under their marks")
        db.endSnapshot()
        try db.beginSnapshot()
        let current = try db.currentResources(keys)
        XCTAssertNil(current[ResourceKey(type: "Coverage", id: "c0")])
        XCTAssertEqual(current[ResourceKey(type: "Patient", id: "p0")].map { String(decoding: $0.json, as: UTF8.self).contains(#""active":true"#) }, true)
        XCTAssertEqual(Set(current.values.map(\.mark)).count, 40, "40 Patients (p9 written again), each its own mark")
        db.endSnapshot()
    }

    func testInListsArePaddedToAPowerOfTwo() {
        XCTAssertEqual(Database.inListChunks([1]), [[1]])
        XCTAssertEqual(Database.inListChunks([1, 2, 3]), [[1, 2, 3, 3]])
        let chunks = Database.inListChunks(Array(0..<300))
        XCTAssertEqual(chunks.map(\.count), [256, 64])
        XCTAssertEqual(chunks[1].prefix(44), ArraySlice(256..<300))
        XCTAssertEqual(Set(chunks[1].suffix(20)), [299])
        XCTAssertEqual(Database.inListChunks([Int]()), [])
    }
}
