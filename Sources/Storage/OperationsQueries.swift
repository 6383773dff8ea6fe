import ExportDomain

/// What an operator asks of the task queue (`atrctl status`).
public struct QueueSummary: Sendable, Equatable {
    public var tasksByState: [TaskState: Int]
    /// When the oldest task still waiting for a scheduler was queued.
    public var oldestQueuedAt: FHIRInstant?
}

public struct RunningTask: Sendable {
    public var id: String
    public var clientId: String?
    public var groupId: String
    public var progress: String?
    public var leaseOwner: String?
    public var leaseExpiresAt: FHIRInstant?
    public var attempts: Int
}

public struct LastExport: Sendable, Equatable {
    public var groupId: String
    public var taskId: String
    public var state: TaskState
    public var finishedAt: FHIRInstant
}

extension Database {
    public func queueSummary() throws -> QueueSummary {
        var counts: [TaskState: Int] = [:]
        for (state, count) in try connection.query("SELECT state, count(*) FROM tasks GROUP BY state", [], { row in
            (TaskState(stored: row.text(0)), Int(row.integer(1)))
        }) {
            counts[state, default: 0] += count
        }
        let oldest = try connection.query(
            "SELECT min(created_at) FROM tasks WHERE state = 'queued'", [], { $0.isNull(0) ? nil : $0.instant(0) }
        ).first ?? nil
        return QueueSummary(tasksByState: counts, oldestQueuedAt: oldest)
    }

    public func runningTasks() throws -> [RunningTask] {
        try connection.query(
            """
            SELECT id, client_id, \(connection.dialect.jsonString("request", key: "groupId")), progress, lease_owner, lease_expires_at, attempts
            FROM tasks WHERE state = 'active' ORDER BY created_at
            """
        ) { row in
            RunningTask(id: row.text(0) ?? "", clientId: row.text(1), groupId: row.text(2) ?? "", progress: row.text(3),
                        leaseOwner: row.text(4), leaseExpiresAt: row.isNull(5) ? nil : row.instant(5), attempts: Int(row.integer(6)))
        }
    }

    /// The most recent finished export (complete or failed, its files maybe purged since) of every
    /// Group. The request is stored as bytes, read as JSON text.
    public func lastExportPerGroup() throws -> [LastExport] {
        let groupId = connection.dialect.jsonString("request", key: "groupId")
        return try connection.query(
            """
            SELECT group_id, id, state, finished_at FROM (
                SELECT \(groupId) AS group_id, id, state, finished_at,
                       row_number() OVER (PARTITION BY \(groupId) ORDER BY finished_at DESC, id) AS latest
                FROM tasks WHERE state IN ('complete', 'failed', 'expired') AND finished_at IS NOT NULL
            ) AS finished WHERE latest = 1 ORDER BY group_id
            """
        ) { row in
            LastExport(groupId: row.text(0) ?? "", taskId: row.text(1) ?? "", state: TaskState(stored: row.text(2)),
                       finishedAt: row.instant(3))
        }
    }
}

extension Database {
    /// How many queued tasks a scheduler takes before this one (claims go by creation time, then id).
    public func tasksQueuedAhead(of taskId: String) throws -> Int {
        try connection.query(
            """
            SELECT count(*) FROM tasks AS other, tasks AS this
            WHERE this.id = ? AND other.state = 'queued'
              AND (other.created_at < this.created_at OR (other.created_at = this.created_at AND other.id < this.id))
            """, [.text(taskId)]
        ) { Int($0.integer(0)) }.first ?? 0
    }
}

/// A finished export as its audit records tell it (the scheduler's figures, read by any node).
public struct ExportOutcome: Sendable, Equatable {
    public var id: Int64
    public var completed: Bool
    public var recorded: FHIRInstant
    /// When its kick-off was recorded (nil when that record is gone).
    public var kickedOffAt: FHIRInstant?
    public var resourceCounts: [String: Int]
}

extension Database {
    /// Completed and failed exports recorded after the audit record `id`, oldest first.
    public func exportOutcomes(after id: Int64, limit: Int) throws -> [ExportOutcome] {
        try auditRecords(AuditQuery(actions: [.exportComplete, .exportFailed], count: limit, after: id)).map { record in
            let task = record.entities.first { $0.kind == .task }?.value
            let kickedOffAt = try task.flatMap { task in
                try connection.query(
                    """
                    SELECT e.recorded FROM audit_entities t JOIN audit_events e ON e.id = t.event_id
                    WHERE t.value = ? AND t.kind = 'task' AND e.action = ? ORDER BY e.id LIMIT 1
                    """, [.text(task), .text(AuditAction.exportKickoff.rawValue)]
                ) { $0.instant(0) }.first
            }
            var counts: [String: Int] = [:]
            for detail in record.details where detail.name.hasPrefix(ExportAudit.countPrefix) {
                counts[String(detail.name.dropFirst(ExportAudit.countPrefix.count)), default: 0] += Int(detail.value) ?? 0
            }
            return ExportOutcome(id: record.id ?? id, completed: record.action == .exportComplete, recorded: record.recorded,
                                 kickedOffAt: kickedOffAt, resourceCounts: counts)
        }
    }
}
