import Foundation

/// SIGTERM/SIGINT end the loop after the current task instead of killing it mid-write.
final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var sources: [DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.request() }
            source.resume()
            sources.append(source)
        }
    }

    var requested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    func request() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    func wait(milliseconds: Int) {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        while !stopped, condition.wait(until: deadline) {}
    }
}
