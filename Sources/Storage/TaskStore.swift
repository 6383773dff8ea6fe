import ExportDomain

/// An export task's life: queued → active (leased by one scheduler) → complete | failed;
/// cancelled by the client; expired when its files are purged after the retention period.
public enum TaskState: String, Sendable, CaseIterable {
    case queued, active, complete, failed, cancelled, expired

    /// A stored state; a value this build does not know reads as failed, never as servable.
    init(stored: String?) {
        self = stored.flatMap(TaskState.init(rawValue:)) ?? .failed
    }
}

public struct ExportTask: Sendable {
    public var id: String
    public var clientId: String?
    public var state: TaskState
    /// The normalised kick-off request (`ExportRequest.toJSON()`).
    public var request: [UInt8]
    public var createdAt: FHIRInstant
    public var transactionTime: FHIRInstant?
    public var attempts: Int
    public var progress: String?
    /// The manifest's stored form: files and counts, without signed URLs.
    public var manifest: [UInt8]?
    /// The OperationOutcome of a failed task.
    public var outcome: [UInt8]?
    public var finishedAt: Int64?
}

/// The lease a scheduler holds on an active task.
public struct TaskLease: Sendable, Equatable {
    public var taskId: String
    public var owner: String
    public var attempt: Int
}

/// Task rows. Claims and state changes are single write transactions, so two schedulers
/// never run the same task and a cancel never races a completion unnoticed.
extension Database {
    public func createTask(id: String, clientId: String?, request: [UInt8], now: FHIRInstant) throws {
        try connection.run(
            "INSERT INTO tasks (id, client_id, state, request, created_at, progress) VALUES (?, ?, 'queued', ?, ?, 'queued')",
            [.text(id), clientId.map(SQLValue.text) ?? .null, .blob(request), .instant(now)]
        )
        try announceQueuedTask()
    }

    /// Tasks of `clientId` (nil: those started with SMART off) that are queued or running.
    public func unfinishedTaskCount(clientId: String?) throws -> Int {
        let clause = clientId == nil ? "client_id IS NULL" : "client_id = ?"
        return try connection.query("SELECT count(*) FROM tasks WHERE state IN ('queued', 'active') AND \(clause)",
                                    clientId.map { [.text($0)] } ?? []) { Int($0.integer(0)) }.first ?? 0
    }

    public func task(_ id: String) throws -> ExportTask? {
        try connection.query(
            """
            SELECT id, client_id, state, request, created_at, transaction_time, attempts, progress, manifest, outcome, finished_at
            FROM tasks WHERE id = ?
            """,
            [.text(id)]
        ) { row in
            ExportTask(
                id: row.text(0) ?? "", clientId: row.text(1), state: TaskState(stored: row.text(2)),
                request: row.blob(3), createdAt: row.instant(4), transactionTime: row.isNull(5) ? nil : row.instant(5),
                attempts: Int(row.integer(6)), progress: row.text(7),
                manifest: row.isNull(8) ? nil : row.blob(8), outcome: row.isNull(9) ? nil : row.blob(9),
                finishedAt: row.isNull(10) ? nil : row.integer(10)
            )
        }.first
    }

    public func tasks(limit: Int = 100) throws -> [(id: String, state: TaskState, createdAt: FHIRInstant, progress: String?)] {
        try connection.query("SELECT id, state, created_at, progress FROM tasks ORDER BY created_at DESC LIMIT ?", [.int(limit)]) {
            ($0.text(0) ?? "", TaskState(stored: $0.text(1)), $0.instant(2), $0.text(3))
        }
    }

    /// Claims a queued task (of the client with the fewest exports running; the oldest of that
    /// client's), or an active one whose scheduler died: its lease ran out,
    /// or `isDead` says its owner (a process of this host) no longer runs. A task that has used
    /// up `retryLimit` retries is failed instead of claimed again. Returns nil when nothing is due.
    public func claimTask(owner: String, nowMilliseconds: Int64, leaseMilliseconds: Int64, retryLimit: Int,
                          isDead: (_ leaseOwner: String) -> Bool = { _ in false },
                          giveUp: (_ taskId: String, _ attempts: Int) -> (outcome: [UInt8], audit: AuditRecord)) throws -> TaskLease? {
        try writeTransaction {
            let nowMilliseconds = try connection.leaseClockMilliseconds(hostMilliseconds: nowMilliseconds)
            // Leases still running whose holder is gone: claimable like lapsed ones.
            let abandoned = try connection.query(
                "SELECT id, lease_owner FROM tasks WHERE state = 'active' AND lease_expires_at >= ?", [.integer(nowMilliseconds)]
            ) { ($0.text(0) ?? "", $0.text(1) ?? "") }.filter { isDead($0.1) }.map(\.0)
            while true {
                let placeholders = Array(repeating: "?", count: abandoned.count).joined(separator: ", ")
                // Fair between clients: the client with the fewest exports running goes first, so
                // one client's many queued exports never hold back another's one; oldest first
                // within that.
                let candidate = try connection.query(
                    """
                    SELECT id, attempts FROM tasks AS waiting
                    WHERE state = 'queued' OR (state = 'active' AND (lease_expires_at < ?\(abandoned.isEmpty ? "" : " OR id IN (\(placeholders))")))
                    ORDER BY (SELECT count(*) FROM tasks AS running
                              WHERE running.state = 'active' AND running.lease_expires_at >= ?
                                AND coalesce(running.client_id, '') = coalesce(waiting.client_id, '')),
                             created_at, id
                    LIMIT 1 \(connection.backend == .postgresql ? "FOR UPDATE SKIP LOCKED" : "")
                    """,
                    [.integer(nowMilliseconds)] + abandoned.map { .text($0) } + [.integer(nowMilliseconds)]
                ) { ($0.text(0) ?? "", Int($0.integer(1))) }.first
                guard let (id, attempts) = candidate else { return nil }
                if attempts > retryLimit {
                    let failure = giveUp(id, attempts)
                    try connection.run(
                        """
                        UPDATE tasks SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL, outcome = ?,
                            progress = 'failed', finished_at = ? WHERE id = ?
                        """,
                        [.blob(failure.outcome), .integer(nowMilliseconds), .text(id)]
                    )
                    try appendAudit(failure.audit)
                    continue
                }
                try connection.run(
                    """
                    UPDATE tasks SET state = 'active', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1,
                        progress = 'started' WHERE id = ?
                    """,
                    [.text(owner), .integer(nowMilliseconds + leaseMilliseconds), .text(id)]
                )
                return TaskLease(taskId: id, owner: owner, attempt: attempts + 1)
            }
        }
    }

    /// Extends the lease and records progress. False when the lease is gone: the task was
    /// cancelled, or another scheduler took it over after this one stalled. A clock stepped back
    /// never moves the expiry earlier (which would hand a live holder's task to another).
    /// Not flushed to disk before it returns (every `BatchSize` resources: a sync each was a
    /// twentieth of a 1M-member export). A power cut, or a crash of the PostgreSQL server while
    /// the scheduler runs on, may lose the last renewals: the lease's expiry and progress step
    /// back by a few batches' time (renewals never move the expiry earlier, and one lost leaves
    /// it a `LeaseDuration` after an earlier renewal), and the owner checks stay as they are.
    public func renewLease(_ lease: TaskLease, nowMilliseconds: Int64, leaseMilliseconds: Int64, progress: String) throws -> Bool {
        try connection.unflushedWriteTransaction {
            let nowMilliseconds = try connection.leaseClockMilliseconds(hostMilliseconds: nowMilliseconds)
            try connection.run(
                """
                UPDATE tasks SET lease_expires_at = \(connection.dialect.greatest("lease_expires_at", "?")), progress = ?
                WHERE id = ? AND state = 'active' AND lease_owner = ?
                """,
                [.integer(nowMilliseconds + leaseMilliseconds), .text(progress), .text(lease.taskId), .text(lease.owner)]
            )
            return connection.changes == 1
        }
    }

    public func setTransactionTime(_ lease: TaskLease, _ instant: FHIRInstant) throws {
        try writeTransaction {
            try connection.run("UPDATE tasks SET transaction_time = ? WHERE id = ? AND lease_owner = ?",
                               [.instant(instant), .text(lease.taskId), .text(lease.owner)])
        }
    }

    /// Marks the task complete with its manifest, if this scheduler still holds it; `audit`
    /// commits with it.
    public func completeTask(_ lease: TaskLease, manifest: [UInt8], nowMilliseconds: Int64, audit: AuditRecord) throws -> Bool {
        try writeTransaction {
            try connection.run(
                """
                UPDATE tasks SET state = 'complete', manifest = ?, progress = 'complete', finished_at = ?,
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND state = 'active' AND lease_owner = ?
                """,
                [.blob(manifest), .integer(nowMilliseconds), .text(lease.taskId), .text(lease.owner)]
            )
            guard connection.changes == 1 else { return false }
            try appendAudit(audit)
            return true
        }
    }

    /// Marks the task failed, if this scheduler still holds it; `audit` commits with it.
    public func failTask(_ lease: TaskLease, outcome: [UInt8], nowMilliseconds: Int64, audit: AuditRecord) throws {
        try writeTransaction {
            try connection.run(
                """
                UPDATE tasks SET state = 'failed', outcome = ?, progress = 'failed', finished_at = ?,
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND state = 'active' AND lease_owner = ?
                """,
                [.blob(outcome), .integer(nowMilliseconds), .text(lease.taskId), .text(lease.owner)]
            )
            if connection.changes == 1 { try appendAudit(audit) }
        }
    }

    /// Cancels a task the client deletes; `audit` commits with it. Returns false when there is
    /// nothing to cancel (unknown, already cancelled, or purged).
    public func cancelTask(_ id: String, nowMilliseconds: Int64, audit: AuditRecord) throws -> Bool {
        try writeTransaction {
            try connection.run(
                """
                UPDATE tasks SET state = 'cancelled', manifest = NULL, progress = 'cancelled', finished_at = ?,
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND state IN ('queued', 'active', 'complete', 'failed')
                """,
                [.integer(nowMilliseconds), .text(id)]
            )
            guard connection.changes == 1 else { return false }
            try appendAudit(audit)
            return true
        }
    }

    /// Tasks finished before `cutoff` whose files are to be purged; they become `expired`
    /// (410 to clients) rather than vanishing (404).
    public func expireFinishedTasks(finishedBefore cutoff: Int64) throws -> [String] {
        try writeTransaction {
            let ids = try connection.query(
                "SELECT id FROM tasks WHERE state IN ('complete', 'failed', 'cancelled') AND finished_at < ?",
                [.integer(cutoff)]
            ) { $0.text(0) ?? "" }
            for id in ids {
                try connection.run(
                    "UPDATE tasks SET state = CASE state WHEN 'cancelled' THEN 'cancelled' ELSE 'expired' END, manifest = NULL, finished_at = NULL WHERE id = ?",
                    [.text(id)]
                )
            }
            return ids
        }
    }

    /// Ids of tasks whose files may exist on disk (everything not cancelled or expired).
    public func taskIdsWithFiles() throws -> Set<String> {
        Set(try connection.query("SELECT id FROM tasks WHERE state IN ('queued', 'active', 'complete', 'failed')") { $0.text(0) ?? "" })
    }
}

extension Database {
    public func activeTaskIds() throws -> Set<String> {
        Set(try connection.query("SELECT id FROM tasks WHERE state = 'active'") { $0.text(0) ?? "" })
    }
}
