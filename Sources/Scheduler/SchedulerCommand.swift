import ArgumentParser
import ExportDomain
import Foundation
import Logging
import Runtime
import Storage

@main
struct SchedulerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atr-scheduler",
        abstract: "Turns queued export tasks into NDJSON files; runs every BulkDataExport.RepeatPeriod."
    )

    @Flag(help: "Run what is due once and exit.")
    var once = false

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atr-scheduler")
        LogSetup.bootstrap(settings)
        let logger = Logger(label: "atr-scheduler")
        ConfigurationLoader.openDatabaseOrExit(settings, program: "atr-scheduler")
        let loop: SchedulerLoop
        do {
            loop = try SchedulerLoop(settings: settings, logger: logger)
        } catch {
            logger.critical("cannot open the database \(settings.databaseDescription): \(error)")
            throw ExitCode(1)
        }
        let stop = StopSignal()
        if once {
            try loop.runDueWork(stop: stop)
            return
        }
        logger.info("atr-scheduler running", metadata: ["repeatPeriodMs": "\(settings.bulkDataExport.repeatPeriodMilliseconds)"])
        while !stop.requested {
            do {
                try loop.runDueWork(stop: stop)
            } catch {
                logger.error("scheduler pass failed", metadata: ["error": "\(error)"])
            }
            stop.wait(milliseconds: settings.bulkDataExport.repeatPeriodMilliseconds)
        }
        logger.info("atr-scheduler stopped")
    }
}
