import ExportDomain
import Foundation
import Storage

/// The one place that reads configuration: `Config/appsettings.json` (or `ATR_CONFIG`),
/// then the optional instance file `ATR_INSTANCE_SETTINGS` (secrets, per-host values; not in git),
/// then `ATR_Section__Key` environment variables.
public enum ConfigurationLoader {
    public static let defaultPath = "Config/appsettings.json"

    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        var layers: [SettingsBuilder.Layer] = []
        let mainPath = environment["ATR_CONFIG"] ?? defaultPath
        layers.append(SettingsBuilder.Layer(name: mainPath, contents: try readFile(mainPath, required: environment["ATR_CONFIG"] != nil)))
        if let instancePath = environment["ATR_INSTANCE_SETTINGS"], !instancePath.isEmpty {
            layers.append(SettingsBuilder.Layer(name: instancePath, contents: try readFile(instancePath, required: true)))
        }
        return try SettingsBuilder.build(layers: layers, environment: environment)
    }

    /// Loads the settings or ends the process with a message naming the bad key (exit 78, EX_CONFIG).
    public static func loadOrExit(program: String) -> Settings {
        do {
            return try load()
        } catch {
            FileHandle.standardError.write(Data("\(program): \(error)\n".utf8))
            exit(78)
        }
    }

    private static func readFile(_ path: String, required: Bool) throws -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path) { return Array(data) }
        if required { throw ConfigurationError(key: path, "cannot read the settings file") }
        return Array("{}".utf8)
    }

    /// Opens the database, creating its directory and schema when needed.
    public static func openDatabase(_ settings: Settings) throws -> Database {
        let directory = (settings.databasePath as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        return try Database(path: settings.databasePath, busyTimeoutMilliseconds: settings.databaseBusyTimeout,
                            baseURL: settings.publicBaseURL)
    }
}
