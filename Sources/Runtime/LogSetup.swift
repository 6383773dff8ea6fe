import ExportDomain
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// swift-log to standard error (journald under systemd), at the configured `Logging.Level`,
/// one `write` per line (`LineLogHandler`).
public enum LogSetup {
    public static func bootstrap(_ settings: Settings) {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        // Each log line's timestamp goes through strftime, and glibc stats /etc/localtime on
        // every call while TZ is unset; naming the same file once makes it read the zone once.
        // Before any thread starts: setenv is not thread-safe. An operator's own TZ wins.
        setenv("TZ", ":/etc/localtime", 0)
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, metadataProvider: LoggingSystem.metadataProvider)
            handler.logLevel = level
            return handler
        }
    }
}
