import ExportDomain
import Foundation
import XCTest
@testable import Storage

/// Task rows on either backend: claims, leases, retries, cancel and the purge, and the operator's
/// queries over them.
final class TaskStoreTests: DatabaseTestCase {
    private let t0: Int64 = 1_795_708_504_123
    private let lease: Int64 = 60_000

    private func request(group: String) -> [UInt8] { Array(#"{"groupId":"\#(group)","types":[]}"#.utf8) }

    private func queue(_ db: Database, _ ids: [String], group: String = "g1", client: String = "a", at time: Int64? = nil) throws {
        for (offset, id) in ids.enumerated() {
            let now = FHIRInstant(millisecondsSinceEpoch: (time ?? t0) + Int64(offset))
            try db.writeTransaction { try db.createTask(id: id, clientId: client, request: request(group: group), now: now) }
        }
    }

    private func claim(_ db: Database, owner: String = "s1", at now: Int64? = nil, retryLimit: Int = 3) throws -> TaskLease? {
        try db.claimTask(owner: owner, nowMilliseconds: now ?? t0, leaseMilliseconds: lease, retryLimit: retryLimit) { id, _ in
            (Array("{}".utf8), ExportAudit.failed(taskId: id, groupId: nil, clientId: nil, reason: "retries",
                                                  now: FHIRInstant(millisecondsSinceEpoch: now ?? self.t0)))
        }
    }

    private var sqliteClock: Bool { backend == .sqlite }

    /// The connection's commit-durability setting: SQLite's `synchronous` (2: FULL), PostgreSQL's
    /// `synchronous_commit`.
    private func flushSetting(_ db: Database) throws -> String {
        backend == .sqlite
            ? try db.connection.query("PRAGMA synchronous") { String($0.integer(0)) }.first ?? "?"
            : try db.connection.query("SHOW synchronous_commit") { $0.text(0) ?? "?" }.first ?? "?"
    }

    func testALeaseRenewalIsCommittedUnflushedAndLeavesTheConnectionsOtherCommitsFlushed() throws {
        let db = try open()
        // The test PostgreSQL server runs with synchronous_commit off; this session's own is on,
        // so a setting leaking out of the renewal's transaction would show.
        if backend == .postgresql { try db.connection.execute("SET synchronous_commit = on") }
        let flushed = try flushSetting(db)
        XCTAssertEqual(flushed, backend == .sqlite ? "2" : "on")
        try queue(db, ["t1"])
        let held = try XCTUnwrap(try claim(db))
        XCTAssertTrue(try db.renewLease(held, nowMilliseconds: t0 + 1000, leaseMilliseconds: lease, progress: "Patient: 10"))
        XCTAssertEqual(try open().task("t1")?.progress, "Patient: 10", "committed: another connection sees it")
        XCTAssertEqual(try flushSetting(db), flushed, "the connection's next transactions are flushed again")
        let stranger = TaskLease(taskId: "t1", owner: "s2", attempt: 1)
        XCTAssertFalse(try db.renewLease(stranger, nowMilliseconds: t0, leaseMilliseconds: lease, progress: "x"))
        XCTAssertEqual(try flushSetting(db), flushed, "also after a renewal that changed nothing")
        XCTAssertEqual(try open().task("t1")?.progress, "Patient: 10")
        struct Refused: Error {}
        XCTAssertThrowsError(try db.connection.unflushedWriteTransaction { throw Refused() })
        XCTAssertEqual(try flushSetting(db), flushed, "and after one whose body threw")
    }

    func testClaimsGoOldestFirstAndCompleteOnlyUnderTheLease() throws {
        let db = try open()
        try queue(db, ["t1", "t2"])
        XCTAssertEqual(try db.tasksQueuedAhead(of: "t2"), 1)
        let first = try XCTUnwrap(try claim(db))
        XCTAssertEqual(first, TaskLease(taskId: "t1", owner: "s1", attempt: 1))
        XCTAssertEqual(try db.task("t1")?.state, .active)
        XCTAssertEqual(try db.runningTasks().map(\.groupId), ["g1"], "the Group id is read from the stored request")
        XCTAssertEqual(try db.tasksQueuedAhead(of: "t2"), 0)
        XCTAssertTrue(try db.renewLease(first, nowMilliseconds: t0 + 1000, leaseMilliseconds: lease, progress: "Patient: 10"))
        XCTAssertEqual(try db.task("t1")?.progress, "Patient: 10")
        let stranger = TaskLease(taskId: "t1", owner: "s2", attempt: 1)
        XCTAssertFalse(try db.renewLease(stranger, nowMilliseconds: t0, leaseMilliseconds: lease, progress: "x"))
        let audit = ExportAudit.accepted(taskId: "t1", groupId: "g1", clientId: "a", address: nil, now: FHIRInstant(millisecondsSinceEpoch: t0))
        XCTAssertFalse(try db.completeTask(stranger, manifest: [1], nowMilliseconds: t0, audit: audit))
        XCTAssertTrue(try db.completeTask(first, manifest: Array("{}".utf8), nowMilliseconds: t0 + 2000, audit: audit))
        XCTAssertEqual(try db.task("t1")?.state, .complete)
        XCTAssertEqual(try db.task("t1")?.manifest, Array("{}".utf8))
        XCTAssertEqual(try db.lastExportPerGroup().map { [$0.groupId, $0.taskId] }, [["g1", "t1"]])
        XCTAssertEqual(try claim(db)?.taskId, "t2")
        XCTAssertNil(try claim(db), "nothing left")
        let summary = try db.queueSummary()
        XCTAssertEqual(summary.tasksByState, [.complete: 1, .active: 1])
        XCTAssertNil(summary.oldestQueuedAt)
    }

    func testClaimsAreFairBetweenClients() throws {
        let db = try open()
        try queue(db, ["a1", "a2", "a3"], client: "a", at: t0)
        try queue(db, ["b1"], client: "b", at: t0 + 100)
        try queue(db, ["n1"], client: "", at: t0 + 200)
        try db.connection.run("UPDATE tasks SET client_id = NULL WHERE id = 'n1'")  // SMART off
        XCTAssertEqual(try claim(db, owner: "w1")?.taskId, "a1", "nobody runs anything: the oldest")
        XCTAssertEqual(try claim(db, owner: "w2")?.taskId, "b1", "a runs one, b none: b's although a's are older")
        XCTAssertEqual(try claim(db, owner: "w3")?.taskId, "n1", "the tasks without a client count as one client")
        XCTAssertEqual(try claim(db, owner: "w4")?.taskId, "a2", "everyone runs one: the oldest")
        XCTAssertEqual(try claim(db, owner: "w5")?.taskId, "a3")
        XCTAssertNil(try claim(db, owner: "w6"))
    }

    func testAKickOffWakesTheQueueListeners() throws {
        let db = try open()
        let listeners = try [db.makeQueueListener(), db.makeQueueListener()]
        for listener in listeners { XCTAssertFalse(try listener.wait(milliseconds: 50), "nothing queued yet") }
        let other = try Database(location: location, busyTimeoutMilliseconds: 1000, baseURL: "https://example.org/fhir")
        try queue(other, ["t1"])
        for listener in listeners { XCTAssertTrue(try listener.wait(milliseconds: 5000), "every listener hears a kick-off") }
        for listener in listeners { XCTAssertFalse(try listener.wait(milliseconds: 50), "one kick-off wakes once") }
    }

    func testALapsedLeaseIsTakenOverAndTheOldHolderLosesIt() throws {
        let db = try open()
        try queue(db, ["t1"])
        let first = try XCTUnwrap(try claim(db, owner: "s1"))
        if sqliteClock {
            XCTAssertNil(try claim(db, owner: "s2", at: t0 + lease - 1), "the lease still runs")
            let second = try XCTUnwrap(try claim(db, owner: "s2", at: t0 + lease + 1))
            XCTAssertEqual(second.attempt, 2)
        } else {
            // Leases go by the database's clock: the caller's time is ignored, so a lease taken
            // now runs for a minute whatever a node says the time is.
            XCTAssertNil(try claim(db, owner: "s2", at: t0 + 10 * lease), "the lease still runs by the database's clock")
            try db.connection.run("UPDATE tasks SET lease_expires_at = 0 WHERE id = 't1'")
            XCTAssertEqual(try claim(db, owner: "s2")?.attempt, 2)
        }
        XCTAssertFalse(try db.renewLease(first, nowMilliseconds: t0, leaseMilliseconds: lease, progress: "late"))
    }

    func testARenewalNeverShortensALease() throws {
        let db = try open()
        try queue(db, ["t1"])
        let held = try XCTUnwrap(try claim(db))
        let before = try db.connection.query("SELECT lease_expires_at FROM tasks WHERE id = 't1'") { $0.integer(0) }.first ?? 0
        XCTAssertTrue(try db.renewLease(held, nowMilliseconds: t0 - 3_600_000, leaseMilliseconds: 1, progress: "p"))
        let after = try db.connection.query("SELECT lease_expires_at FROM tasks WHERE id = 't1'") { $0.integer(0) }.first ?? 0
        XCTAssertGreaterThanOrEqual(after, before)
    }

    func testATaskPastItsRetriesFailsInsteadOfRunningAgain() throws {
        let db = try open()
        try queue(db, ["t1"])
        try db.connection.run("UPDATE tasks SET attempts = 4 WHERE id = 't1'")
        XCTAssertNil(try claim(db, retryLimit: 3))
        let task = try XCTUnwrap(try db.task("t1"))
        XCTAssertEqual(task.state, .failed)
        XCTAssertEqual(task.outcome, Array("{}".utf8))
        XCTAssertEqual(try db.auditRecords(AuditQuery(actions: [.exportFailed], count: 10)).count, 1)
    }

    func testCancelAndThePurge() throws {
        let db = try open()
        try queue(db, ["t1", "t2", "t3"])
        let audit = ExportAudit.cancelled(taskId: "t1", groupId: "g1", clientId: "a", address: nil, now: FHIRInstant(millisecondsSinceEpoch: t0))
        XCTAssertTrue(try db.cancelTask("t1", nowMilliseconds: t0, audit: audit))
        XCTAssertFalse(try db.cancelTask("t1", nowMilliseconds: t0, audit: audit), "already cancelled")
        XCTAssertFalse(try db.cancelTask("nope", nowMilliseconds: t0, audit: audit))
        let held = try XCTUnwrap(try claim(db))
        XCTAssertEqual(held.taskId, "t2")
        XCTAssertTrue(try db.completeTask(held, manifest: [1], nowMilliseconds: t0 + 10, audit: audit))
        XCTAssertEqual(try db.taskIdsWithFiles(), ["t2", "t3"])
        XCTAssertEqual(Set(try db.expireFinishedTasks(finishedBefore: t0 + 100)), ["t1", "t2"])
        XCTAssertEqual(try db.task("t1")?.state, .cancelled)
        XCTAssertEqual(try db.task("t2")?.state, .expired)
        XCTAssertNil(try db.task("t2")?.manifest)
        XCTAssertEqual(try db.unfinishedTaskCount(clientId: "a"), 1)
        XCTAssertEqual(try db.unfinishedTaskCount(clientId: nil), 0)
    }

    /// Four schedulers, each with its own connection, claim from one queue until it is empty.
    func testConcurrentSchedulersClaimEachTaskExactlyOnce() throws {
        let db = try open()
        let ids = (0..<40).map { String(format: "t%02d", $0) }
        try queue(db, ids)
        let location = self.location
        let claimed = Claims()
        let baseTime = t0
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                let own = try Database(location: location, busyTimeoutMilliseconds: 10000, baseURL: "https://x/fhir")
                while let lease = try own.claimTask(owner: "s\(worker)", nowMilliseconds: baseTime, leaseMilliseconds: 600_000, retryLimit: 3,
                                                    giveUp: { _, _ in ([], ExportAudit.failed(taskId: "", groupId: nil, clientId: nil, reason: "",
                                                                                               now: FHIRInstant(millisecondsSinceEpoch: baseTime))) }) {
                    claimed.add(lease.taskId)
                }
            } catch {
                claimed.add("error: \(error)")
            }
        }
        XCTAssertEqual(claimed.all.sorted(), ids)
    }

    /// What a snapshot reads stays as it was when the snapshot began.
    func testASnapshotDoesNotSeeLaterWrites() throws {
        let reader = try open()
        let writer = try open()
        let key = ResourceKey(type: "Patient", id: "p1")
        let now = FHIRInstant(millisecondsSinceEpoch: t0)
        _ = try writer.writeTransaction { try writer.put(["resourceType": "Patient", "active": true], as: key, now: now) }
        try reader.beginSnapshot()
        XCTAssertNotNil(try reader.currentResource(key))
        _ = try writer.writeTransaction { try writer.delete(key, now: now) }
        XCTAssertNotNil(try reader.currentResource(key), "deleted after the snapshot began")
        let mark = try XCTUnwrap(try reader.currentResources([key])[key]?.mark, "deleted after the snapshot began")
        XCTAssertEqual(try reader.markExported([mark]), [mark])
        XCTAssertEqual(try reader.markExported([mark]), [], "each resource once")
        reader.endSnapshot()
        XCTAssertNil(try reader.currentResource(key))
        try reader.beginSnapshot()
        XCTAssertEqual(try reader.markExported([mark]), [mark], "a new export starts with nothing seen")
        reader.endSnapshot()
    }
}

final class Claims: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []

    func add(_ id: String) {
        lock.lock()
        ids.append(id)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return ids
    }
}
