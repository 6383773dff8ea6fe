/// Builds `Settings` from layers (built-in defaults, `appsettings.json`, an optional instance
/// file) and `ATR_`-prefixed environment variables, later layers winning. Reads no files itself.
public enum SettingsBuilder {
    public struct Layer: Sendable {
        public var name: String
        public var contents: [UInt8]

        public init(name: String, contents: [UInt8]) {
            self.name = name
            self.contents = contents
        }
    }

    public static let environmentPrefix = "ATR_"

    public static func build(layers: [Layer], environment: [String: String]) throws -> Settings {
        guard case .object(var merged)? = try? JSONParser.parse(Settings.defaultsJSON) else {
            throw ConfigurationError(key: "(defaults)", "built-in defaults do not parse")
        }
        for layer in layers {
            let value: JSONValue
            do {
                value = try JSONParser.parse(layer.contents)
            } catch {
                throw ConfigurationError(key: layer.name, "\(error)")
            }
            guard case .object(let overlay) = value else {
                throw ConfigurationError(key: layer.name, "the file must hold a JSON object")
            }
            merged = try merge(overlay, into: merged, path: "")
        }
        for (name, text) in environment.sorted(by: { $0.key < $1.key }) {
            try applyEnvironmentVariable(name: name, value: text, to: &merged)
        }
        return try decode(merged)
    }

    private static func merge(_ overlay: JSONObject, into base: JSONObject, path: String) throws -> JSONObject {
        var result = base
        for (key, value) in overlay {
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            if Settings.freeFormPaths.contains(path) {
                result[key] = value
                continue
            }
            guard let existing = base[key] else {
                throw ConfigurationError(key: keyPath, "unknown setting")
            }
            switch (existing, value) {
            case (.object(let baseObject), .object(let overlayObject)):
                if Settings.freeFormPaths.contains(keyPath) {
                    result[key] = value
                } else {
                    result[key] = .object(try merge(overlayObject, into: baseObject, path: keyPath))
                }
            case (.object, _):
                throw ConfigurationError(key: keyPath, "must be a JSON object")
            default:
                result[key] = value
            }
        }
        return result
    }

    /// `ATR_BulkDataExport__RepeatPeriod=5000` sets `BulkDataExport.RepeatPeriod` (ASP.NET style,
    /// case-insensitive). Variables whose first segment is no settings section are not ours and
    /// are left alone (e.g. `ATR_CA` used by the test tooling).
    static func applyEnvironmentVariable(name: String, value: String, to settings: inout JSONObject) throws {
        guard name.hasPrefix(environmentPrefix) else { return }
        let segments = name.dropFirst(environmentPrefix.count)
            .split(separator: "__", omittingEmptySubsequences: false)
            .flatMap { $0.split(separator: ":", omittingEmptySubsequences: false) }
            .map(String.init)
        guard let first = segments.first, settings.keys.contains(where: { $0.lowercased() == first.lowercased() }) else {
            return
        }
        settings = try set(value, at: segments[...], in: settings, path: "", variable: name)
    }

    private static func set(_ text: String, at segments: ArraySlice<String>, in object: JSONObject,
                            path: String, variable: String) throws -> JSONObject {
        guard let segment = segments.first else { return object }
        let freeForm = Settings.freeFormPaths.contains(path)
        let key = object.keys.first(where: { $0.lowercased() == segment.lowercased() }) ?? (freeForm ? segment : nil)
        guard let key else {
            throw ConfigurationError(key: path.isEmpty ? segment : "\(path).\(segment)", "unknown setting (from \(variable))")
        }
        let keyPath = path.isEmpty ? key : "\(path).\(key)"
        var result = object
        let rest = segments.dropFirst()
        if rest.isEmpty {
            result[key] = try typedValue(text, like: object[key], keyPath: keyPath, variable: variable)
        } else {
            let child = object[key]?.objectValue ?? JSONObject()
            guard object[key] == nil || object[key]?.objectValue != nil else {
                throw ConfigurationError(key: keyPath, "is not a section (from \(variable))")
            }
            result[key] = .object(try set(text, at: rest, in: child, path: keyPath, variable: variable))
        }
        return result
    }

    private static func typedValue(_ text: String, like existing: JSONValue?, keyPath: String, variable: String) throws -> JSONValue {
        switch existing {
        case .string?, nil:
            return .string(text)
        case .number?, .bool?, .array?, .object?, .null?:
            guard let parsed = try? JSONParser.parse(text) else {
                throw ConfigurationError(key: keyPath, "\(variable) must hold a JSON value of the setting's type")
            }
            return parsed
        }
    }

    // MARK: Decoding

    static func decode(_ root: JSONObject) throws -> Settings {
        let reader = SettingsReader(root: root)
        let publicBase = try PublicBaseURL(parsing: try reader.string("PublicBaseUrl"))
        let bulk = BulkDataExportSettings(
            repeatPeriodMilliseconds: try reader.integer("BulkDataExport.RepeatPeriod", in: 10...86_400_000),
            fileRetentionSeconds: try reader.duration("BulkDataExport.FileRetentionPeriod", minimum: 1),
            cleanupCheckIntervalSeconds: try reader.duration("BulkDataExport.CleanupCheckInterval", minimum: 1),
            retryLimit: try reader.integer("BulkDataExport.RetryLimit", in: 0...100),
            additionalResourcesMaxRecursionDepth: try reader.integer("BulkDataExport.AdditionalResourcesMaxRecursionDepth", in: 0...10),
            leaseSeconds: try reader.duration("BulkDataExport.LeaseDuration", minimum: 1),
            maxFileSize: try reader.integer("BulkDataExport.MaxFileSize", in: 1024...Int.max),
            batchSize: try reader.integer("BulkDataExport.BatchSize", in: 1...1_000_000),
            requiresAccessToken: try reader.bool("BulkDataExport.RequiresAccessToken"),
            maxKickoffParameters: try reader.integer("BulkDataExport.MaxKickoffParameters", in: 1...1_000_000),
            maxActiveTasksPerClient: try reader.integer("BulkDataExport.MaxActiveTasksPerClient", in: 1...100_000),
            maxPatients: try reader.integer("BulkDataExport.MaxPatients", in: 1...1_000_000),
            maxGroupMembers: try reader.integer("BulkDataExport.MaxGroupMembers", in: 1...Int.max),
            earlyPollsAllowed: try reader.integer("BulkDataExport.EarlyPollsAllowed", in: 0...Int.max),
            maxParallelExports: try reader.integer("BulkDataExport.MaxParallelExports", in: 0...256)
        )
        let storageType = try reader.string("TaskFileManagement.StorageService.StorageType")
        guard storageType == "LocalFile" else {
            throw ConfigurationError(key: "TaskFileManagement.StorageService.StorageType", "only 'LocalFile' is supported, not '\(storageType)'")
        }
        let database = try databaseConnection(reader)
        var settings = Settings(
            publicBase: publicBase,
            databasePath: try reader.string("Database.Path"),
            databaseBusyTimeout: try reader.integer("Database.BusyTimeout", in: 0...600_000),
            fastCGISocket: try reader.string("FastCGI.Socket"),
            fastCGIThreads: try reader.integer("FastCGI.Threads", in: 1...256),
            requestBodyLimit: try reader.integer("RequestBodyLimit", in: 1024...(1 << 34)),
            requestJSONLimits: JSONBodyLimits(
                maxDepth: try reader.integer("RequestJsonLimits.MaxDepth", in: 8...JSONParser.maximumDepth),
                maxElements: try reader.integer("RequestJsonLimits.MaxElements", in: 1000...Int.max)
            ),
            logLevel: try logLevel(reader),
            metricsListen: try metricsListen(reader),
            audit: AuditSettings(retentionSeconds: try reader.duration("Audit.RetentionPeriod", minimum: 1)),
            historyRetentionSeconds: try reader.duration("History.RetentionPeriod", minimum: 1),
            bulkDataExport: bulk,
            taskFileStoragePath: try reader.string("TaskFileManagement.StorageService.StoragePath"),
            signedURLSecretFile: try reader.string("SignedUrls.SecretFile"),
            signedURLLifetimeSeconds: try reader.duration("SignedUrls.Lifetime", minimum: 1),
            smart: try smart(reader, publicBase: publicBase),
            redactions: try redactions(reader)
        )
        (settings.databaseProvider, settings.databaseConnectionString, settings.databasePasswordFile) = database
        return settings
    }

    /// A password in the connection string would sit in a settings file (and in `ps` and logs
    /// that name the database): it belongs in `Database.PasswordFile` or libpq's `PGPASSFILE`.
    private static func databaseConnection(_ reader: SettingsReader) throws -> (DatabaseProvider, String, String) {
        let providerText = reader.value("Database.Provider")?.stringValue ?? ""
        guard let provider = DatabaseProvider(rawValue: providerText) else {
            throw ConfigurationError(key: "Database.Provider", "must be 'Sqlite' or 'PostgreSQL', not '\(providerText)'")
        }
        guard let connectionString = reader.value("Database.ConnectionString")?.stringValue else {
            throw ConfigurationError(key: "Database.ConnectionString", "must be a string")
        }
        guard let passwordFile = reader.value("Database.PasswordFile")?.stringValue else {
            throw ConfigurationError(key: "Database.PasswordFile", "must be a string")
        }
        if provider == .postgresql && connectionString.allSatisfy(\.isWhitespace) {
            throw ConfigurationError(key: "Database.ConnectionString", "is required when Database.Provider is PostgreSQL (e.g. 'host=/var/run/postgresql dbname=atr user=atr')")
        }
        if ConnectionStrings.containsPassword(connectionString) {
            throw ConfigurationError(key: "Database.ConnectionString", "must not hold a password: put it in Database.PasswordFile or libpq's PGPASSFILE")
        }
        return (provider, connectionString, passwordFile)
    }

    /// Prometheus scrapes from this host (or through a tunnel): the metrics name every client
    /// and Group count, so they are never served on an address other hosts reach.
    private static func metricsListen(_ reader: SettingsReader) throws -> String {
        guard let listen = reader.value("Metrics.Listen")?.stringValue else {
            throw ConfigurationError(key: "Metrics.Listen", "must be a string: a loopback address and port, or empty for no metrics")
        }
        guard !listen.isEmpty else { return listen }
        let loopback = ["127.", "[::1]:", "localhost:"].contains { listen.hasPrefix($0) }
        guard loopback, let port = listen.split(separator: ":").last.flatMap({ Int($0) }), (1...65535).contains(port) else {
            throw ConfigurationError(key: "Metrics.Listen", "must be a loopback address and port (127.0.0.1:9464, [::1]:9464) or empty, not '\(listen)'")
        }
        return listen
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    private static func logLevel(_ reader: SettingsReader) throws -> String {
        let level = try reader.string("Logging.Level")
        guard logLevels.contains(level) else {
            throw ConfigurationError(key: "Logging.Level", "must be one of \(logLevels.joined(separator: ", ")), not '\(level)'")
        }
        return level
    }

    private static func smart(_ reader: SettingsReader, publicBase: PublicBaseURL) throws -> SmartSettings {
        let prefix = "SmartAuthorizationOptions"
        let origin = publicBase.origin
        let baseURL = publicBase.description
        let issuer = reader.value("\(prefix).Issuer")?.stringValue ?? ""
        let audience = reader.value("\(prefix).Audience")?.stringValue ?? ""
        let builtIn = try reader.bool("\(prefix).BuiltInAuthorizationServer")
        let jwksURL = reader.value("\(prefix).JwksUrl")?.stringValue ?? ""
        let enabled = try reader.bool("\(prefix).Enabled")
        if enabled && !builtIn && jwksURL.isEmpty {
            throw ConfigurationError(key: "\(prefix).JwksUrl", "is required when BuiltInAuthorizationServer is false")
        }
        return SmartSettings(
            enabled: enabled,
            builtInAuthorizationServer: builtIn,
            issuer: issuer.isEmpty ? "\(origin)/auth" : issuer,
            audience: audience.isEmpty ? baseURL : audience,
            tokenLifetimeSeconds: try reader.integer("\(prefix).TokenLifetime", in: 10...300),
            signingKeyFile: try reader.string("\(prefix).SigningKeyFile"),
            jwksURL: jwksURL,
            jwksFetchTimeoutMilliseconds: try reader.integer("\(prefix).JwksFetchTimeout", in: 100...60000),
            tokenRequestsPerMinute: try reader.integer("\(prefix).TokenRequestsPerMinute", in: 1...100_000),
            tokenEndpoint: (reader.value("\(prefix).TokenEndpoint")?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? "\(origin)/auth/token"
        )
    }

    private static func redactions(_ reader: SettingsReader) throws -> [String: Settings.Redaction] {
        let key = "ResourceRedactionOptions.Redactions"
        guard let object = reader.value(key)?.objectValue else {
            throw ConfigurationError(key: key, "must be a JSON object")
        }
        var result: [String: Settings.Redaction] = [:]
        for (name, _) in object {
            let prefix = "\(key).\(name)"
            let fhirVersions = try reader.strings("\(prefix).FhirVersions")
            let omitElements = try reader.strings("\(prefix).OmitElements")
            // Compiled here so that every process refuses to start on an expression it cannot run.
            let redaction: Settings.Redaction
            do {
                redaction = try Settings.Redaction(fhirVersions: fhirVersions, omitElements: omitElements)
            } catch {
                throw ConfigurationError(key: "\(prefix).OmitElements", "\(error)")
            }
            result[name] = redaction
        }
        return result
    }
}

/// Typed reads by dotted key, each failure naming the key.
struct SettingsReader {
    var root: JSONObject

    func value(_ key: String) -> JSONValue? {
        var current: JSONValue? = .object(root)
        for segment in key.split(separator: ".", omittingEmptySubsequences: false) {
            current = current?[String(segment)]
        }
        // Redaction names contain dots ("hl7.fhir.us.davinci-atr"): fall back to a longest-match walk.
        return current ?? valueAllowingDottedNames(key)
    }

    private func valueAllowingDottedNames(_ key: String) -> JSONValue? {
        let segments = key.split(separator: ".").map(String.init)
        func walk(_ value: JSONValue, _ index: Int) -> JSONValue? {
            if index == segments.count { return value }
            guard let object = value.objectValue else { return nil }
            for end in stride(from: segments.count, to: index, by: -1) {
                let name = segments[index..<end].joined(separator: ".")
                if let child = object[name], let found = walk(child, end) { return found }
            }
            return nil
        }
        return walk(.object(root), 0)
    }

    func string(_ key: String) throws -> String {
        guard let text = value(key)?.stringValue, !text.isEmpty else {
            throw ConfigurationError(key: key, "must be a non-empty string")
        }
        return text
    }

    func strings(_ key: String) throws -> [String] {
        guard let items = value(key)?.arrayValue else {
            throw ConfigurationError(key: key, "must be an array of strings")
        }
        return try items.map { item in
            guard let text = item.stringValue else { throw ConfigurationError(key: key, "must be an array of strings") }
            return text
        }
    }

    func bool(_ key: String) throws -> Bool {
        guard let value = value(key)?.boolValue else { throw ConfigurationError(key: key, "must be true or false") }
        return value
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        guard case .number(let literal)? = value(key), let number = Int(literal) else {
            throw ConfigurationError(key: key, "must be an integer")
        }
        guard range.contains(number) else {
            throw ConfigurationError(key: key, "must be between \(range.lowerBound) and \(range.upperBound), not \(number)")
        }
        return number
    }

    /// A .NET TimeSpan text (`d.hh:mm:ss` or `hh:mm:ss`), as Firely's settings use, in seconds.
    func duration(_ key: String, minimum: Int) throws -> Int {
        let text = try string(key)
        guard let seconds = TimeSpan.seconds(text) else {
            throw ConfigurationError(key: key, "must be a duration like '1.00:00:00' (d.hh:mm:ss) or '00:10:00', not '\(text)'")
        }
        guard seconds >= minimum else {
            throw ConfigurationError(key: key, "must be at least \(minimum) seconds")
        }
        return seconds
    }
}

public enum TimeSpan {
    public static func seconds(_ text: String) -> Int? {
        var days = 0
        var clock = Substring(text)
        if let dot = text.firstIndex(of: "."), let colon = text.firstIndex(of: ":"), dot < colon {
            guard let value = Int(text[..<dot]), value >= 0 else { return nil }
            days = value
            clock = text[text.index(after: dot)...]
        }
        let parts = clock.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let hours = Int(parts[0]), (0..<24).contains(hours),
              let minutes = Int(parts[1]), (0..<60).contains(minutes),
              let seconds = Int(parts[2]), (0..<60).contains(seconds) else { return nil }
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    }
}
