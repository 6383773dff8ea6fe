import ArgumentParser
import ExportDomain
import FHIRService
import Foundation
import Logging
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
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "atr-scheduler")
        let settings = ConfigurationLoader.loadOrExit(program: "atr-scheduler")
        let database: Database
        do {
            database = try ConfigurationLoader.openDatabase(settings)
        } catch {
            logger.critical("cannot open the database \(settings.databasePath): \(error)")
            throw ExitCode(1)
        }
        let loop = SchedulerLoop(settings: settings, database: database, logger: logger)
        if once {
            try loop.runDueWork()
            return
        }
        let stop = StopSignal()
        logger.info("atr-scheduler running", metadata: ["repeatPeriodMs": "\(settings.bulkDataExport.repeatPeriodMilliseconds)"])
        while !stop.requested {
            do {
                try loop.runDueWork()
            } catch {
                logger.error("scheduler pass failed", metadata: ["error": "\(error)"])
            }
            stop.wait(milliseconds: settings.bulkDataExport.repeatPeriodMilliseconds)
        }
        logger.info("atr-scheduler stopped")
    }
}
