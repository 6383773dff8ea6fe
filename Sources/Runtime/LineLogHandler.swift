import Logging
#if canImport(Glibc)
import Glibc
#endif

/// swift-log lines in `StreamLogHandler`'s format, each written to standard error with one
/// `write(2)`. `StreamLogHandler` holds stderr's stdio lock across its write, which the
/// FastCGI threads queued on (status-poll profile, README "Performance"). A line of up to
/// `PIPE_BUF` (4 KB) is written whole by one `write` (a regular file under its position lock,
/// a pipe or journald's socket atomically), under a shared lock that costs no wait; a longer
/// one, which the kernel may split, is written under the exclusive lock, so no other line
/// lands inside it.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    public var metadata = Logger.Metadata()
    private let label: String
    private let descriptor: Int32

    public init(label: String, descriptor: Int32 = STDERR_FILENO, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.descriptor = descriptor
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = Self.line(timestamp: Self.timestamp(), level: event.level, label: label,
                             metadata: effectiveMetadata(event), source: event.source, message: event.message)
        line.withUTF8 { write($0) }
    }

    /// The handler's metadata, then the provider's, then the statement's (later keys win), as
    /// `StreamLogHandler` merges them.
    private func effectiveMetadata(_ event: LogEvent) -> Logger.Metadata {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return merged
    }

    /// `2026-12-04T21:35:06+0000 info atr-fcgi: key=value key=value [Module] message`
    static func line(timestamp: String, level: Logger.Level, label: String, metadata: Logger.Metadata,
                     source: String, message: Logger.Message) -> String {
        var line = timestamp
        line += " "
        line += level.rawValue
        if !label.isEmpty {
            line += " "
            line += label
        }
        line += ":"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " "
            line += key
            line += "="
            line += value.description
        }
        line += " ["
        line += source
        line += "] "
        line += message.description
        line += "\n"
        return line
    }

    /// Local time to the second, as `StreamLogHandler` prints it.
    static func timestamp() -> String {
        var now = time(nil)
        var local = tm()
        guard localtime_r(&now, &local) != nil else { return "<unknown>" }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let count = strftime(buffer.baseAddress!, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: count), as: UTF8.self)
        }
    }

    private func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard var cursor = bytes.baseAddress, !bytes.isEmpty else { return }
        if bytes.count <= Int(PIPE_BUF) { LineWriteLock.shared.shared() } else { LineWriteLock.shared.exclusive() }
        defer { LineWriteLock.shared.unlock() }
        var left = bytes.count
        while left > 0 {
            let written = Glibc.write(descriptor, cursor, left)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }  // a closed or full log loses the line, never the request
            cursor += written
            left -= written
        }
    }
}

/// Lines of up to `PIPE_BUF` share it (no waiting among them); a longer line holds it alone.
private final class LineWriteLock: @unchecked Sendable {
    static let shared = LineWriteLock()
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    private init() {
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    func shared() { pthread_rwlock_rdlock(lock) }
    func exclusive() { pthread_rwlock_wrlock(lock) }
    func unlock() { pthread_rwlock_unlock(lock) }
}
