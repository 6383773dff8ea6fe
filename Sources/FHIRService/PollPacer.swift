import ExportDomain
import Foundation

/// The process's `PollPacing`, shared by every worker thread: a client's polls reach whichever
/// thread is free. Each atr-fcgi process paces the polls it answers.
public final class PollPacer: @unchecked Sendable {
    public static let processWide = PollPacer()

    private let lock = NSLock()
    private var pacing = PollPacing()

    public init() {}

    func poll(taskId: String, now: FHIRInstant, retryAfterSeconds: Int, earlyPollsAllowed: Int) -> PollPacing.Decision {
        lock.withLock { pacing.poll(taskId: taskId, now: now, retryAfterSeconds: retryAfterSeconds, earlyPollsAllowed: earlyPollsAllowed) }
    }

    func finished(taskId: String) {
        lock.withLock { pacing.finished(taskId: taskId) }
    }
}
