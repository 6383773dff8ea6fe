import ExportDomain
import Foundation
import XCTest
@testable import Storage

final class DatabaseTests: DatabaseTestCase {
    private func object(_ text: String) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(text) else { fatalError("bad fixture") }
        return object
    }

    private let t0 = FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123)

    private func tableCount(_ db: Database) throws -> Int64? {
        try db.connection.query(backend == .sqlite ? "SELECT count(*) FROM sqlite_master"
                                    : "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()") { $0.integer(0) }.first
    }

    private func setSchemaVersion(_ db: Database, _ version: Int) throws {
        try db.connection.execute(backend == .sqlite ? "PRAGMA user_version = \(version)" : "UPDATE schema_version SET version = \(version)")
    }

    func testAFreshFileHasNoSchemaUntilMigratedExplicitly() throws {
        let db = try openUnmigrated()
        XCTAssertThrowsError(try db.requireCurrentSchema()) { error in
            XCTAssertEqual((error as? SchemaVersionError)?.found, 0)
            XCTAssertEqual("\(error)", "the database schema is at version 0, this build needs \(Database.schemaVersion): run `atrctl migrate` (with the services stopped on a big database)")
        }
        XCTAssertEqual(try tableCount(db), 0)
        let first = try db.migrate()
        XCTAssertEqual([first.from, first.to], [0, Database.schemaVersion])
        let again = try db.migrate()
        XCTAssertEqual([again.from, again.to], [Database.schemaVersion, Database.schemaVersion])
        XCTAssertNoThrow(try db.requireCurrentSchema())
    }

    func testASchemaNewerThanTheBuildIsRefusedAndNotTouched() throws {
        let db = try open()
        try setSchemaVersion(db, Database.schemaVersion + 1)
        XCTAssertThrowsError(try db.requireCurrentSchema()) { error in
            XCTAssertEqual("\(error)", "the database schema is at version \(Database.schemaVersion + 1), newer than this build's \(Database.schemaVersion): run a newer build")
        }
        XCTAssertThrowsError(try db.migrate())
        XCTAssertEqual(try Migrations.version(of: db.connection), Database.schemaVersion + 1)
    }

    func testMigrationKeepsResourcesStoredByTheFirstSchema() throws {
        try requireSQLite()
        let path = directory.appendingPathComponent("atr.sqlite").path
        do {
            let old = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1000)
            try old.execute(SQLiteMigrations.steps[0])
            try old.execute("PRAGMA user_version = 1")
            try old.execute(#"INSERT INTO resources VALUES ('Patient', 'p1', 3, '2026-11-26T15:55:04.123Z', 0, CAST('{"resourceType":"Patient","id":"p1"}' AS BLOB))"#)
            try old.execute(#"INSERT INTO tasks (id, state, request, created_at, transaction_time) VALUES ('t1', 'complete', '{}', '2026-11-26T15:55:04.999Z', '2026-11-26T15:55:05.001Z')"#)
            try old.execute(#"INSERT INTO tasks (id, state, request, created_at) VALUES ('t2', 'queued', '{}', '1970-01-01T00:00:00.000Z')"#)
            try old.execute(#"INSERT INTO clients (id, scopes, groups, created_at) VALUES ('c1', 'system/*.read', '*', '2026-02-28T23:59:59.500Z')"#)
        }
        let db = try open()
        XCTAssertEqual(try db.connection.query("PRAGMA user_version") { $0.integer(0) }, [Int64(SQLiteMigrations.steps.count)])
        let row = try XCTUnwrap(try db.currentResource(ResourceKey(type: "Patient", id: "p1")))
        XCTAssertEqual(row.lastUpdated.description, "2026-11-26T15:55:04.123Z")
        // Migration 3: text instants become milliseconds, exactly.
        let task = try XCTUnwrap(try db.task("t1"))
        XCTAssertEqual(task.createdAt.description, "2026-11-26T15:55:04.999Z")
        XCTAssertEqual(task.transactionTime?.description, "2026-11-26T15:55:05.001Z")
        XCTAssertEqual(try db.task("t2")?.createdAt.millisecondsSinceEpoch, 0)
        XCTAssertNil(try db.task("t2")?.transactionTime)
        XCTAssertEqual(try db.client("c1")?.createdAt.description, "2026-02-28T23:59:59.500Z")
        XCTAssertEqual(try db.connection.query("SELECT typeof(last_updated) FROM resources") { $0.text(0) }, ["integer"])
        XCTAssertEqual(String(decoding: row.json, as: UTF8.self), #"{"resourceType":"Patient","id":"p1"}"#)
        let plan = try db.connection.query("EXPLAIN QUERY PLAN SELECT json FROM resources WHERE type = 'Patient' AND id = 'p1'") { $0.text(3) ?? "" }
        XCTAssertEqual(plan, ["SEARCH resources USING INDEX sqlite_autoindex_resources_1 (type=? AND id=?)"])
    }

    func testResourceBlobReadsPieceByPieceWhatIsStored() throws {
        let db = try open()
        let key = ResourceKey(type: "Group", id: "g")
        let members = (0..<50).map { #"{"entity":{"reference":"Patient/p\#($0)"}}"# }.joined(separator: ",")
        let group = object(#"{"resourceType":"Group","id":"g","type":"person","actual":true,"member":[\#(members)]}"#)
        let stored = try db.writeTransaction { try db.put(group, as: key, now: t0) }.0.json
        try db.beginSnapshot()
        defer { db.endSnapshot() }
        XCTAssertNil(try db.currentResourceBlob(ResourceKey(type: "Group", id: "missing")))
        for windowSize in [7, 64, 1 << 20] {
            let blob = try XCTUnwrap(try db.currentResourceBlob(key, windowSize: windowSize))
            XCTAssertEqual(blob.count, stored.count)
            XCTAssertEqual(blob.lastUpdated.description, "2026-11-26T15:55:04.123Z")
            XCTAssertEqual((0..<blob.count).map { blob.byte(at: $0) }, stored)
            XCTAssertEqual(blob.bytes(3..<200), Array(stored[3..<200]))
            XCTAssertEqual(blob.bytes(100..<103), Array(stored[100..<103]))
            var pieces: [UInt8] = []
            blob.forEachPiece(of: 5..<stored.count) { pieces.append(contentsOf: $0) }
            XCTAssertEqual(pieces, Array(stored[5...]))
            let fromBlob = try XCTUnwrap(ResourceScan(blob))
            let fromMemory = try XCTUnwrap(stored.withUnsafeBytes { ResourceScan($0) })
            XCTAssertEqual(fromBlob.properties, fromMemory.properties)
            var elements: [[UInt8]] = []
            XCTAssertTrue(ResourceScan.forEachElement(in: blob, array: try XCTUnwrap(fromBlob.value("member"))) { elements.append(blob.bytes($0)) })
            XCTAssertEqual(elements.count, 50)
            XCTAssertEqual(elements.last.map { String(decoding: $0, as: UTF8.self) }, #"{"entity":{"reference":"Patient/p49"}}"#)
            XCTAssertNil(blob.failure)
        }
    }

    func testVersionsAndDelete() throws {
        let db = try open()
        let key = ResourceKey(type: "Patient", id: "p1")
        let patient = object(#"{"resourceType":"Patient","id":"p1"}"#)
        let (first, created) = try db.writeTransaction { try db.put(patient, as: key, now: t0) }
        XCTAssertTrue(created)
        XCTAssertEqual(first.versionId, 1)
        XCTAssertEqual(String(decoding: first.json, as: UTF8.self),
                       #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2026-11-26T15:55:04.123Z"}}"#)
        let (second, createdAgain) = try db.writeTransaction { try db.put(patient, as: key, now: t0) }
        XCTAssertFalse(createdAgain)
        XCTAssertEqual(second.versionId, 2)
        XCTAssertEqual(try db.writeTransaction { try db.delete(key, now: t0) }, .deleted(versionId: 3))
        XCTAssertEqual(try db.writeTransaction { try db.delete(key, now: t0) }, .alreadyDeleted)
        guard case .deleted(let version, _) = try db.read(key) else { return XCTFail("expected deleted") }
        XCTAssertEqual(version, 3)
        let (third, recreated) = try db.writeTransaction { try db.put(patient, as: key, now: t0) }
        XCTAssertTrue(recreated)
        XCTAssertEqual(third.versionId, 4)
        XCTAssertEqual(try db.writeTransaction { try db.delete(ResourceKey(type: "Patient", id: "never"), now: t0) }, .missing)
    }

    func testRollbackLeavesNothing() throws {
        let db = try open()
        struct Boom: Error {}
        XCTAssertThrowsError(try db.writeTransaction {
            _ = try db.put(object(#"{"resourceType":"Patient"}"#), as: ResourceKey(type: "Patient", id: "gone"), now: t0)
            throw Boom()
        })
        guard case .missing = try db.read(ResourceKey(type: "Patient", id: "gone")) else { return XCTFail("rolled back write is visible") }
    }

    func testReadsTogetherAnswerTheirBodyAndLeaveNoTransactionOpen() throws {
        let db = try open()
        let key = ResourceKey(type: "Patient", id: "p1")
        _ = try db.writeTransaction { try db.put(object(#"{"resourceType":"Patient","id":"p1"}"#), as: key, now: t0) }
        let other = try open()
        let versions: [Int] = try db.readTogether {
            guard case .found(let before) = try db.read(key) else { throw StorageError(code: 0, message: "missing") }
            // Another connection writes meanwhile: the reads never block a writer.
            _ = try other.writeTransaction { try other.put(object(#"{"resourceType":"Patient","id":"p1"}"#), as: key, now: t0) }
            guard case .found(let after) = try db.read(key) else { throw StorageError(code: 0, message: "missing") }
            return [before.versionId, after.versionId]
        }
        // SQLite: both reads in one transaction, one snapshot. PostgreSQL: each statement its own.
        XCTAssertEqual(versions, backend == .sqlite ? [1, 1] : [1, 2])
        struct Boom: Error {}
        XCTAssertThrowsError(try db.readTogether { () throws -> Int in
            _ = try db.read(key)
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        // Nothing was left open: this connection writes, and reads what the other one wrote.
        let (third, _) = try db.writeTransaction { try db.put(object(#"{"resourceType":"Patient","id":"p1"}"#), as: key, now: t0) }
        XCTAssertEqual(third.versionId, 3)
        XCTAssertEqual(try db.readTogether { try db.task("none") }?.id, nil)
    }

    func testIndexesFollowWritesAndReindex() throws {
        let db = try open()
        let group = object(#"{"resourceType":"Group","identifier":[{"system":"s","value":"v1"}],"name":"Sunrise","member":[{"entity":{"reference":"Patient/a"}}]}"#)
        _ = try db.writeTransaction { try db.put(group, as: ResourceKey(type: "Group", id: "g1"), now: t0) }
        let refCount = { try db.connection.query("SELECT count(*) FROM refs WHERE source_id = 'g1'") { $0.integer(0) }.first }
        XCTAssertEqual(try refCount(), 1)
        XCTAssertEqual(try groupIds(db, "identifier=s|v1"), ["g1"])
        XCTAssertEqual(try groupIds(db, "identifier=v1", "name=sun"), ["g1"])
        XCTAssertEqual(try groupIds(db, "identifier=other|v1"), [])
        XCTAssertEqual(try groupIds(db, "identifier=|v1"), [])
        XCTAssertEqual(try groupIds(db, "name=rise"), [])
        try db.connection.run("DELETE FROM refs")
        XCTAssertEqual(try db.reindexAll(batchSize: 1), 1)
        XCTAssertEqual(try refCount(), 1)
        _ = try db.writeTransaction { try db.delete(ResourceKey(type: "Group", id: "g1"), now: t0) }
        XCTAssertEqual(try refCount(), 0)
        XCTAssertEqual(try groupIds(db, "identifier=s|v1"), [])
    }

    func testConcurrentWritersLoseNoUpdate() throws {
        _ = try open()
        let location = self.location
        let failures = Counter()
        let shared = object(#"{"resourceType":"Patient","id":"shared"}"#)
        let now = t0
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let db = try Database(location: location, busyTimeoutMilliseconds: 10000, baseURL: "https://x/fhir")
                for _ in 0..<50 {
                    _ = try db.writeTransaction {
                        try db.put(shared, as: ResourceKey(type: "Patient", id: "shared"), now: now)
                    }
                }
            } catch {
                failures.increment()
            }
        }
        XCTAssertEqual(failures.value, 0)
        guard case .found(let stored) = try open().read(ResourceKey(type: "Patient", id: "shared")) else { return XCTFail("missing") }
        XCTAssertEqual(stored.versionId, 200)
    }

    func testManyStatementShapesOnOneConnectionKeepWorking() throws {
        let db = try open()
        for count in 1...700 {
            let placeholders = Array(repeating: "?", count: count).joined(separator: ", ")
            let found = try db.connection.query("SELECT count(*) FROM resources WHERE id IN (\(placeholders))",
                                                (0..<count).map { .text("p\($0)") }) { $0.integer(0) }
            XCTAssertEqual(found, [0])
        }
        try db.writeTransaction { try db.createTask(id: "after", clientId: nil, request: [1], now: t0) }
        XCTAssertEqual(try db.task("after")?.request, [1])
    }

    func testTextIsBoundWithItsLengthSoANulNeverCutsAnId() throws {
        let db = try open()
        try db.writeTransaction { try db.createTask(id: "task-1", clientId: "a", request: Array("{}".utf8), now: t0) }
        XCTAssertNotNil(try db.task("task-1"))
        guard backend == .sqlite else {
            XCTAssertThrowsError(try db.task("task-1\u{0}anything"), "PostgreSQL's text cannot hold a NUL: refused, not cut") { error in
                XCTAssertTrue((error as? StorageError)?.isUnstorableText == true, "\(error)")
            }
            return
        }
        XCTAssertNil(try db.task("task-1\u{0}anything"), "a NUL inside the id is part of it")
        XCTAssertEqual(try db.connection.query("SELECT length(CAST(? AS BLOB))", [.text("a\u{0}b")]) { $0.integer(0) }, [3])
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
