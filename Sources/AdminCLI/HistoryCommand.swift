import ArgumentParser
import ExportDomain
import Runtime
import Storage

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Manage the kept versions of resources.",
        subcommands: [Prune.self]
    )

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete versions superseded longer ago than History.RetentionPeriod; current versions stay.",
            discussion: "For another age once: ATR_History__RetentionPeriod=30.00:00:00 atrctl history prune"
        )

        func run() throws {
            let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
            let database = ConfigurationLoader.openDatabaseOrExit(settings, program: "atrctl")
            let cutoff = FHIRInstant(millisecondsSinceEpoch: SystemClock.now().millisecondsSinceEpoch
                                         - Int64(settings.historyRetentionSeconds) * 1000)
            let pruned = try database.pruneHistory(supersededBefore: cutoff)
            print("pruned \(pruned) version(s) superseded before \(cutoff)")
        }
    }
}
