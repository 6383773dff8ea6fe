import Foundation

/// A progress bar on a terminal (stderr); silent otherwise, where the summary line suffices.
final class ProgressReporter {
    let label: String
    var total: Int64?
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(label: String, total: Int64?) {
        self.label = label
        self.total = total
    }

    func update(done: Int64, count: Int) {
        guard isTerminal, Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        var line = "\r\(label) "
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "] "
            line += String(format: "%3.0f%% ", fraction * 100)
        }
        line += "\(count) resources"
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func clearLine() {
        guard isTerminal, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    func finish() {
        clearLine()
        drawn = false
    }
}
