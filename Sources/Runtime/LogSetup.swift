import ExportDomain
import Logging

/// swift-log to standard error (journald under systemd), at the configured `Logging.Level`.
public enum LogSetup {
    public static func bootstrap(_ settings: Settings) {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
