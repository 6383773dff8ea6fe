import Foundation
import Logging
import Storage

/// The thread that turns "a task was queued" from the database (LISTEN on PostgreSQL, inotify
/// on SQLite) into a wake-up of the idle workers. When it cannot listen, the workers still poll
/// every RepeatPeriod; it tries again a few seconds later.
struct QueueWatch {
    let database: Database
    let logger: Logger
    static let retryMilliseconds = 5000

    func run(signal: SchedulerSignal) {
        var listener: TaskQueueListener?
        var failing = false
        while !signal.stopRequested {
            do {
                if listener == nil { listener = try database.makeQueueListener() }
                if failing {
                    logger.info("listening for kick-offs again")
                    failing = false
                }
                // Short waits, so a stop is noticed soon.
                if try listener?.wait(milliseconds: 500) == true { signal.wake() }
            } catch {
                if !failing {
                    logger.warning("cannot listen for kick-offs; polling every RepeatPeriod meanwhile", metadata: ["error": "\(error)"])
                    failing = true
                }
                listener = nil
                signal.sleep(milliseconds: Self.retryMilliseconds)
            }
        }
    }
}
