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
        if readSecret { settings.signedURLSecret = try Self.readSecret(settings.signedURLSecretFile) }
        return settings
    }

    /// The signed-URL secret: at least 16 characters of text in a file outside git
    /// (`make run` creates one from /dev/urandom).
    private static func readSecret(_ path: String) throws -> String {
        let key = "SignedUrls.SecretFile"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: key, "cannot read \(path); create it, e.g. `head -c 32 /dev/urandom | base64 > \(path)`")
        }
        let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard secret.count >= 16, !secret.contains("\""), !secret.contains("\\"), !secret.contains("\n") else {
            throw ConfigurationError(key: key, "\(path) must hold one line of at least 16 characters without quotes or backslashes")
        }
        return secret
    }

    /// Loads the settings or ends the process with a message naming the bad key (exit 78, EX_CONFIG).
    public static func loadOrExit(program: String, readSecret: Bool = true) -> Settings {
        do {
            return try load(readSecret: readSecret)
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

    /// Creates the signed-URL secret file (32 random bytes, base64, mode 0600) unless it exists.
    /// Returns false when it already existed.
    public static func createSecretIfMissing(_ settings: Settings) throws -> Bool {
        let path = settings.signedURLSecretFile
        guard !FileManager.default.fileExists(atPath: path) else { return false }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Data(bytes).base64EncodedString() + "\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError(key: "SignedUrls.SecretFile", "cannot create \(path)")
        }
        return true
    }

    /// Opens the database; its schema must be this build's (`SchemaVersionError` otherwise).
    /// `migrating: true` only for `atrctl migrate`, which creates the file and its directory.
    public static func openDatabase(_ settings: Settings, migrating: Bool = false) throws -> Database {
        if migrating {
            let directory = (settings.databasePath as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        } else if !FileManager.default.fileExists(atPath: settings.databasePath) {
            throw SchemaVersionError(found: 0, expected: Database.schemaVersion)
        }
        let database = try Database(path: settings.databasePath, busyTimeoutMilliseconds: settings.databaseBusyTimeout,
                                    baseURL: settings.publicBaseURL)
        if !migrating { try database.requireCurrentSchema() }
        return database
    }

    /// For a process's start: opens the database once to check its schema, or ends the process
    /// with the reason (exit 78, EX_CONFIG), so a server never runs on a schema it does not know.
    public static func requireDatabaseOrExit(_ settings: Settings, program: String) {
        do {
            _ = try openDatabase(settings)
        } catch {
            FileHandle.standardError.write(Data("\(program): \(settings.databasePath): \(error)\n".utf8))
            exit(78)
        }
    }
}
