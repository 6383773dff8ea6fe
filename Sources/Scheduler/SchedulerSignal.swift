import Foundation

/// What the scheduler's threads wait for: SIGTERM/SIGINT (which end the loop after the current
/// tasks instead of killing them mid-write) and wake-ups for newly queued tasks.
final class SchedulerSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var wakeups: UInt64 = 0
    private var sources: [DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.requestStop() }
            source.resume()
            sources.append(source)
        }
    }

    var stopRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    /// Read before looking for work: a wake-up that comes while the work is looked for is then
    /// not lost (`wait(after:)` returns at once).
    var wakeupCount: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return wakeups
    }

    func requestStop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    func wake() {
        condition.lock()
        wakeups &+= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Until a stop, a wake-up after `seen`, or `milliseconds`.
    func wait(after seen: UInt64, milliseconds: Int) {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        while !stopped, wakeups == seen, condition.wait(until: deadline) {}
    }

    /// Until a stop or `milliseconds`.
    func sleep(milliseconds: Int) {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        while !stopped, condition.wait(until: deadline) {}
    }
}
