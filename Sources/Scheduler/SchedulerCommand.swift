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
        abstract: "Turns queued export tasks into NDJSON files: up to BulkDataExport.MaxParallelExports at once, woken by each kick-off, and polling every BulkDataExport.RepeatPeriod."
    )

    @Flag(help: "Run what is due once and exit.")
    var once = false

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atr-scheduler")
        LogSetup.bootstrap(settings)
        let logger = Logger(label: "atr-scheduler")
        ConfigurationLoader.openDatabaseOrExit(settings, program: "atr-scheduler")
        let count = settings.bulkDataExport.parallelExports(cores: ProcessInfo.processInfo.activeProcessorCount)
        let workers: [SchedulerLoop]
        do {
            workers = try (0..<count).map { try SchedulerLoop(settings: settings, logger: logger, cleans: $0 == 0) }
        } catch {
            logger.critical("cannot open the database \(settings.databaseDescription): \(error)")
            throw ExitCode(1)
        }
        let signal = SchedulerSignal()
        if once {
            let failures = SchedulerThreads.run(workers.map { worker in { try worker.runDueWork(signal: signal) } })
            if let failure = failures.first { throw failure }
            return
        }
        logger.info("atr-scheduler running", metadata: ["repeatPeriodMs": "\(settings.bulkDataExport.repeatPeriodMilliseconds)",
                                                        "parallelExports": "\(count)"])
        let repeatPeriod = settings.bulkDataExport.repeatPeriodMilliseconds
        let listening: @Sendable () throws -> Void = {
            QueueWatch(database: workers[0].database, logger: logger).run(signal: signal)
        }
        let working: [@Sendable () throws -> Void] = workers.map { worker in
            {
                while !signal.stopRequested {
                    let seen = signal.wakeupCount
                    do {
                        try worker.runDueWork(signal: signal)
                    } catch {
                        logger.error("scheduler pass failed", metadata: ["error": "\(error)"])
                    }
                    signal.wait(after: seen, milliseconds: repeatPeriod)
                }
            }
        }
        _ = SchedulerThreads.run([listening] + working)
        logger.info("atr-scheduler stopped")
    }
}

/// Runs each body on a thread of its own and waits for all of them; returns what they threw.
enum SchedulerThreads {
    static func run(_ bodies: [@Sendable () throws -> Void]) -> [Error] {
        let group = DispatchGroup()
        let failures = Failures()
        for body in bodies {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    try body()
                } catch {
                    failures.append(error)
                }
            }
            // An export's JSON nesting is bounded, but the redactor and FHIRPath recurse.
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return failures.all
    }

    private final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var errors: [Error] = []

        func append(_ error: Error) {
            lock.lock()
            errors.append(error)
            lock.unlock()
        }

        var all: [Error] {
            lock.lock()
            defer { lock.unlock() }
            return errors
        }
    }
}
