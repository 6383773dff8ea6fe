import ExportDomain
import Foundation
import Storage

/// The one place that reads configuration: `Config/appsettings.json` (or `ATR_CONFIG`),
/// then the optional instance file `ATR_INSTANCE_SETTINGS` (secrets, per-host values; not in git),
/// then `ATR_Section__Key` environment variables.
public enum ConfigurationLoader {
    public static let defaultPath = "Config/appsettings.json"

    /// `readSecret: false` only for the command that creates the secret file.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment, readSecret: Bool = true) throws -> Settings {
        var layers: [SettingsBuilder.Layer] = []
        let mainPath = environment["ATR_CONFIG"] ?? defaultPath
        layers.append(SettingsBuilder.Layer(name: mainPath, contents: try readFile(mainPath, required: environment["ATR_CONFIG"] != nil)))
        if let instancePath = environment["ATR_INSTANCE_SETTINGS"], !instancePath.isEmpty {
            layers.append(SettingsBuilder.Layer(name: instancePath, contents: try readFile(instancePath, required: true)))
        }
        var settings = try SettingsBuilder.build(layers: layers, environment: environment)
        if readSecret { settings.signedURLSecret = try ServerSecrets.urlSecret(settings) }
        return settings
    }

    /// Loads the settings or ends the process with a message naming the bad key (exit 78, EX_CONFIG).
    public static func loadOrExit(program: String, readSecret: Bool = true) -> Settings {
        do {
            return try load(readSecret: readSecret)
        } catch {
            exitForConfiguration(program, "\(error)")
        }
    }

    /// Ends the process with EX_CONFIG (78): what is wrong is in the configuration or the
    /// database's schema, so restarting cannot help (the systemd units do not).
    public static func exitForConfiguration(_ program: String, _ message: String) -> Never {
        FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
        exit(78)
    }

    private static func readFile(_ path: String, required: Bool) throws -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path) { return Array(data) }
        if required { throw ConfigurationError(key: path, "cannot read the settings file") }
        return Array("{}".utf8)
    }

    /// Opens the database; its schema must be this build's (`SchemaVersionError` otherwise).
    /// `migrating: true` only for `atrctl migrate`, which creates the SQLite file and its directory.
    public static func openDatabase(_ settings: Settings, migrating: Bool = false) throws -> Database {
        let database = try Database(location: try databaseLocation(settings, creating: migrating),
                                    busyTimeoutMilliseconds: settings.databaseBusyTimeout, baseURL: settings.publicBaseURL)
        if !migrating { try database.requireCurrentSchema() }
        return database
    }

    /// The configured database; for SQLite, a missing file is a database never migrated.
    public static func databaseLocation(_ settings: Settings, creating: Bool = false) throws -> DatabaseLocation {
        switch settings.databaseProvider {
        case .sqlite:
            if creating {
                let directory = (settings.databasePath as NSString).deletingLastPathComponent
                if !directory.isEmpty {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                }
            } else if !FileManager.default.fileExists(atPath: settings.databasePath) {
                throw SchemaVersionError(found: 0, expected: Database.schemaVersion)
            }
            return .sqlite(path: settings.databasePath)
        case .postgresql:
            return .postgresql(connectionString: settings.databaseConnectionString, password: try databasePassword(settings))
        }
    }

    /// The password file's first line; nil without a file (libpq then reads `PGPASSFILE`).
    private static func databasePassword(_ settings: Settings) throws -> String? {
        guard !settings.databasePasswordFile.isEmpty else { return nil }
        guard let password = readPasswordFile(settings.databasePasswordFile) else {
            throw ConfigurationError(key: "Database.PasswordFile", "cannot read \(settings.databasePasswordFile)")
        }
        return password
    }

    /// A PostgreSQL password file's first line; nil when it cannot be read.
    public static func readPasswordFile(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return nil }
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }

    /// The database with this build's schema, or the process ends with the reason (exit 78):
    /// the servers call it once at start, so they never run on a schema they do not know.
    @discardableResult
    public static func openDatabaseOrExit(_ settings: Settings, program: String) -> Database {
        do {
            return try openDatabase(settings)
        } catch {
            exitForConfiguration(program, "\(settings.databaseDescription): \(error)")
        }
    }
}
