import ExportDomain
import ExportEngine
import Foundation
import Logging
import Runtime
import Storage

/// One of the scheduler's workers (`BulkDataExport.MaxParallelExports` run side by side, each
/// with connections of its own). A pass claims and runs due tasks until none is left; the
/// cleaning worker first purges what is past retention (every CleanupCheckInterval).
/// Unchecked Sendable: each worker is handed to one thread and used only there.
final class SchedulerLoop: @unchecked Sendable {
    let settings: Settings
    let database: Database
    let snapshot: Database
    let logger: Logger
    let owner: String
    let files: TaskFiles
    let redactor: Redactor
    let cleans: Bool
    private var lastCleanup: Int64?

    init(settings: Settings, logger: Logger, cleans: Bool) throws {
        self.settings = settings
        self.logger = logger
        self.cleans = cleans
        database = try ConfigurationLoader.openDatabase(settings)
        snapshot = try ConfigurationLoader.openDatabase(settings)
        owner = LeaseOwner(host: Self.hostName, pid: getpid(), nonce: UInt32.random(in: 0...UInt32.max)).description
        files = TaskFiles(root: settings.taskFileStoragePath)
        redactor = settings.atrRedactor()
    }

    private var nowMilliseconds: Int64 { SystemClock.now().millisecondsSinceEpoch }
    private var leaseMilliseconds: Int64 { Int64(settings.bulkDataExport.leaseSeconds) * 1000 }

    func runDueWork(signal: SchedulerSignal? = nil) throws {
        try FileManager.default.createDirectory(atPath: files.root, withIntermediateDirectories: true)
        let interval = Int64(settings.bulkDataExport.cleanupCheckIntervalSeconds) * 1000
        if cleans, lastCleanup.map({ nowMilliseconds - $0 >= interval }) ?? true {
            try cleanup()
            lastCleanup = nowMilliseconds
        }
        while signal?.stopRequested != true, let lease = try claim() {
            run(lease)
        }
    }

    private func claim() throws -> TaskLease? {
        let limit = settings.bulkDataExport.retryLimit
        return try database.claimTask(owner: owner, nowMilliseconds: nowMilliseconds, leaseMilliseconds: leaseMilliseconds,
                                      retryLimit: limit, isDead: Self.isDeadLocalScheduler) { taskId, attempts in
            logger.error("export task abandoned", metadata: ["task-id": "\(taskId)", "attempts": "\(attempts)"])
            // Its dead attempts' files; the next cleanup would find them only CleanupCheckInterval later.
            files.removeBuilding(taskId)
            let reason = ExportFailureReason.retriesExhausted(attempts: attempts, retryLimit: limit)
            let task = try? database.task(taskId)
            let groupId = task.flatMap { try? ExportRequest(json: try JSONParser.parse($0.request)).groupId }
            return (reason.operationOutcome.serialized(),
                    ExportAudit.failed(taskId: taskId, groupId: groupId, clientId: task?.clientId, reason: reason.diagnostics,
                                       now: SystemClock.now()))
        }
    }

    static let hostName = String(ProcessInfo.processInfo.hostName.prefix { $0 != "." })

    /// A lease of this host whose process is gone, or is no longer an atr-scheduler (its pid was
    /// reused). Leases of other hosts are never judged here: they wait for the lease to lapse.
    static func isDeadLocalScheduler(_ leaseOwner: String) -> Bool {
        guard let owner = LeaseOwner(parsing: leaseOwner), owner.host == hostName, owner.pid != getpid() else { return false }
        if kill(owner.pid, 0) != 0 && errno == ESRCH { return true }
        guard let comm = try? String(contentsOfFile: "/proc/\(owner.pid)/comm", encoding: .utf8) else { return false }
        return comm.trimmingCharacters(in: .whitespacesAndNewlines) != "atr-scheduler"
    }

    private func run(_ lease: TaskLease) {
        var logger = self.logger
        logger[metadataKey: "task-id"] = "\(lease.taskId)"
        logger.info("export started", metadata: ["attempt": "\(lease.attempt)"])
        var building: String?
        var task: ExportTask?
        do {
            guard let found = try database.task(lease.taskId) else { return }
            task = found
            let request = try ExportRequest(json: try JSONParser.parse(found.request))
            building = try files.prepareBuilding(lease)
            let output = NDJSONOutput(files: DirectoryFiles(directory: building!), maxFileSize: settings.bulkDataExport.maxFileSize)
            let transactionTime = SystemClock.now()
            try snapshot.beginSnapshot()
            defer { snapshot.endSnapshot() }
            try database.setTransactionTime(lease, transactionTime)
            let builder = ExportBuilder(settings: settings, snapshot: snapshot, request: request, now: transactionTime,
                                        output: output, redactor: redactor, backgroundLines: true) { [self] progress in
                guard try database.renewLease(lease, nowMilliseconds: nowMilliseconds,
                                              leaseMilliseconds: leaseMilliseconds, progress: progress) else {
                    throw ExportAbandoned()
                }
            }
            let errors: [JSONValue]
            do {
                errors = try builder.build()
                for outcome in errors { try output.write(type: "OperationOutcome", line: outcome.serialized(), fileStem: "error") }
            } catch {
                output.abandon()
                throw error
            }
            let written = try output.finish(typeOrder: ATRTypes.all)
            // No exported type is Bundle or OperationOutcome: those are the deleted and error files.
            let manifest = ExportManifest(transactionTime: transactionTime.description, request: request.requestURL,
                                          output: written.filter { $0.type != "OperationOutcome" && $0.type != "Bundle" },
                                          error: written.filter { $0.type == "OperationOutcome" },
                                          deleted: written.filter { $0.type == "Bundle" })
            guard try database.renewLease(lease, nowMilliseconds: nowMilliseconds, leaseMilliseconds: leaseMilliseconds,
                                          progress: "publishing") else { throw ExportAbandoned() }
            try files.publish(lease)
            building = nil
            let audit = ExportAudit.completed(taskId: lease.taskId, request: request, clientId: found.clientId, manifest: manifest,
                                              optedOutMembers: builder.optedOutMembers, now: SystemClock.now())
            if try database.completeTask(lease, manifest: manifest.storedJSON().serialized(), nowMilliseconds: nowMilliseconds,
                                         audit: audit) {
                logger.info("export complete", metadata: ["files": "\(written.count)"])
            } else {
                // Cancelled while publishing: the files must not stay reachable.
                if try database.task(lease.taskId)?.state != .active { files.remove(files.finalDirectory(lease.taskId)) }
                logger.info("export finished after cancellation; files removed")
            }
        } catch is ExportAbandoned {
            logger.info("export stopped: cancelled or taken over")
        } catch {
            logger.error("export failed", metadata: ["error": "\(error)"])
            let reason = ExportFailureReason(classifying: error)
            let groupId = task.flatMap { try? ExportRequest(json: try JSONParser.parse($0.request)).groupId }
            let audit = ExportAudit.failed(taskId: lease.taskId, groupId: groupId, clientId: task?.clientId,
                                           reason: reason.diagnostics, now: SystemClock.now())
            try? database.failTask(lease, outcome: reason.operationOutcome.serialized(), nowMilliseconds: nowMilliseconds, audit: audit)
        }
        if let building { files.remove(building) }
    }

    /// Purges tasks past `FileRetentionPeriod` (they answer 410 afterwards) and any directory
    /// no live task owns.
    func cleanup() throws {
        // The tasks whose files expired (`BulkDataExportSettings.filesExpire`) finished before this.
        let cutoff = nowMilliseconds - settings.bulkDataExport.fileRetentionMilliseconds
        let expired = try database.expireFinishedTasks(finishedBefore: cutoff)
        for taskId in expired { files.remove(files.finalDirectory(taskId)) }
        if !expired.isEmpty { logger.info("purged expired tasks", metadata: ["count": "\(expired.count)"]) }
        let auditCutoff = FHIRInstant(millisecondsSinceEpoch: nowMilliseconds - Int64(settings.audit.retentionSeconds) * 1000)
        let purged = try database.purgeAudit(recordedBefore: auditCutoff)
        if purged > 0 { logger.info("purged audit records past Audit.RetentionPeriod", metadata: ["count": "\(purged)"]) }
        try files.removeOrphans { (try database.taskIdsWithFiles(), try database.activeTaskIds()) }
    }
}
