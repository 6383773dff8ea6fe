import ArgumentParser
import ExportDomain
import Foundation
import Runtime
import Storage

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The export queue: tasks by state, the oldest waiting one, what runs now, and each Group's last export."
    )

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        let database = ConfigurationLoader.openDatabaseOrExit(settings, program: "atrctl")
        let summary = try database.queueSummary()
        let states: [TaskState] = [.queued, .active, .complete, .failed, .cancelled, .expired]
        print("tasks: " + states.map { "\($0.rawValue) \(summary.tasksByState[$0] ?? 0)" }.joined(separator: ", "))
        if let oldest = summary.oldestQueuedAt {
            let waited = (SystemClock.now().millisecondsSinceEpoch - oldest.millisecondsSinceEpoch) / 1000
            print("oldest queued: \(oldest) (\(waited) s ago)")
        } else {
            print("oldest queued: -")
        }
        let running = try database.runningTasks()
        print("running: \(running.count)")
        for task in running {
            print("  \(task.id)  Group/\(task.groupId)  client \(task.clientId ?? "-")  attempt \(task.attempts)  "
                  + "lease \(task.leaseOwner ?? "-") until \(task.leaseExpiresAt?.description ?? "-")  \(task.progress ?? "")")
        }
        let last = try database.lastExportPerGroup()
        print("last export per Group: \(last.isEmpty ? "-" : "")")
        for export in last {
            print("  Group/\(export.groupId)  \(export.state.rawValue)  \(export.finishedAt)  task \(export.taskId)")
        }
    }
}
