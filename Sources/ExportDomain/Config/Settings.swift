public enum DatabaseProvider: String, Sendable, Equatable, CaseIterable {
    case sqlite = "Sqlite"
    case postgresql = "PostgreSQL"
}

extension Settings {
    /// The database as messages name it: the SQLite file, or the PostgreSQL connection string
    /// (which never holds a password).
    public var databaseDescription: String {
        databaseProvider == .sqlite ? databasePath : "PostgreSQL (\(databaseConnectionString))"
    }
}

/// The validated configuration shared by atr-fcgi, atr-scheduler and atrctl.
/// Names follow Firely Server's appsettings where Firely has a setting for the same thing.
public struct Settings: Sendable, Equatable {
    /// The public FHIR base URL, e.g. `https://localhost:8443/fhir`. Taken from configuration,
    /// not from the request, because nginx's `HTTP_HOST` drops the port.
    public var publicBase: PublicBaseURL
    /// `publicBase` as text, without a trailing slash.
    public var publicBaseURL: String { publicBase.description }
    /// The path part of `publicBaseURL` (`/fhir`), under which requests are routed.
    public var basePath: String { publicBase.path }
    /// `Database.Provider`: the embedded SQLite file (`Database.Path`) or a PostgreSQL server.
    public var databaseProvider: DatabaseProvider = .sqlite
    public var databasePath: String
    /// `Database.ConnectionString`: libpq's keyword/value or URI syntax, without a password.
    public var databaseConnectionString: String = ""
    /// `Database.PasswordFile`: a file holding the PostgreSQL password (empty: libpq's own
    /// `PGPASSFILE` / `~/.pgpass`, or no password).
    public var databasePasswordFile: String = ""
    /// Milliseconds a connection waits for another process's write lock.
    public var databaseBusyTimeout: Int
    public var fastCGISocket: String
    public var fastCGIThreads: Int
    /// Largest request body accepted, in bytes; nginx's `client_max_body_size` is rendered from it.
    public var requestBodyLimit: Int
    /// `RequestJsonLimits`: how deep and how big a JSON request body may be (413 beyond).
    public var requestJSONLimits: JSONBodyLimits
    /// `Logging.Level`: swift-log's level names, `trace` … `critical`.
    public var logLevel: String
    /// `Metrics.Listen`: the loopback address nginx serves `/metrics` on (empty: no metrics).
    public var metricsListen: String
    public var audit: AuditSettings
    /// `History.RetentionPeriod`: `atrctl history prune` deletes superseded versions written
    /// longer ago than this (current versions are always kept).
    public var historyRetentionSeconds: Int
    public var bulkDataExport: BulkDataExportSettings
    public var taskFileStoragePath: String
    public var signedURLSecretFile: String
    public var signedURLLifetimeSeconds: Int
    /// The secret read from `signedURLSecretFile` by the loader (empty until then).
    public var signedURLSecret: String = ""
    public var smart: SmartSettings
    /// `ResourceRedactionOptions.Redactions`: redaction name → (FHIR versions, OmitElements).
    public var redactions: [String: Redaction]

    public struct Redaction: Sendable, Equatable {
        public var fhirVersions: [String]
        public var omitElements: [String]
        /// Compiled once when the configuration is read (that is where errors are reported);
        /// planning it walks the whole R4 model, which showed in every start-up.
        let compiled: Redactor

        init(fhirVersions: [String], omitElements: [String]) throws {
            self.fhirVersions = fhirVersions
            self.omitElements = omitElements
            compiled = try Redactor(fhirVersions: fhirVersions, omitElements: omitElements)
        }

        public static func == (lhs: Redaction, rhs: Redaction) -> Bool {
            lhs.fhirVersions == rhs.fhirVersions && lhs.omitElements == rhs.omitElements
        }
    }

    /// The ATR export's redaction (`Redactions["hl7.fhir.us.davinci-atr"]`); inactive when not configured.
    public func atrRedactor() -> Redactor {
        redactions[Redactor.atrRedactionName]?.compiled ?? .inactive
    }
}

public struct AuditSettings: Sendable, Equatable {
    /// `Audit.RetentionPeriod`: records older than this are purged by the scheduler (default six
    /// years, as HIPAA asks of disclosure accounting).
    public var retentionSeconds: Int
}

public struct BulkDataExportSettings: Sendable, Equatable {
    public var repeatPeriodMilliseconds: Int
    public var fileRetentionSeconds: Int
    public var cleanupCheckIntervalSeconds: Int
    public var retryLimit: Int
    public var additionalResourcesMaxRecursionDepth: Int
    /// How long a scheduler owns a claimed task without renewing its lease.
    public var leaseSeconds: Int
    /// An NDJSON file is split into `content{Type}-{n}.ndjson` past this many bytes.
    public var maxFileSize: Int
    /// Resources written between progress updates and cancellation checks.
    public var batchSize: Int
    /// The manifest's `requiresAccessToken`: downloads need the bearer token as well as the signed URL.
    public var requiresAccessToken: Bool
    /// Most parameters (query items or Parameters entries) and `_elements` selectors one
    /// kick-off may carry; more is a 413 before any of them is looked at.
    public var maxKickoffParameters: Int
    /// Most exports one client may have queued or running; another kick-off is 429 + Retry-After.
    public var maxActiveTasksPerClient: Int
    /// Most `patient` parameters one kick-off may name; more is a 413.
    public var maxPatients: Int
    /// Most members a Group may have for one export; a bigger one is refused at kick-off (422).
    public var maxGroupMembers: Int
    /// Status polls in a row sooner than the advertised `Retry-After` that are still answered;
    /// the next early one is a 429 + Retry-After.
    public var earlyPollsAllowed: Int
    /// Exports one atr-scheduler runs at once; 0: as many as the host has CPU cores.
    public var maxParallelExports: Int

    /// `maxParallelExports` resolved against the host's `cores`.
    public func parallelExports(cores: Int) -> Int {
        maxParallelExports > 0 ? maxParallelExports : max(1, cores)
    }

    /// When the files of a task that finished at `finishedAt` (ms since the epoch) are purged:
    /// `FileRetentionPeriod` later. The scheduler's cleanup purges every task past this point
    /// (on its next pass), and the complete `$exportstatus` answer announces it as `Expires`.
    public func filesExpire(finishedAt: Int64) -> FHIRInstant {
        FHIRInstant(millisecondsSinceEpoch: finishedAt + fileRetentionMilliseconds)
    }

    public var fileRetentionMilliseconds: Int64 { Int64(fileRetentionSeconds) * 1000 }
}

public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var problem: String

    public init(key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "configuration error at '\(key)': \(problem)" }
}

/// `SmartAuthorizationOptions`: who issues the bearer tokens this server accepts.
public struct SmartSettings: Sendable, Equatable {
    /// Off only for closed test setups: then no request needs a token.
    public var enabled: Bool
    /// The built-in token endpoint (`/auth/token`); off when an external issuer is configured.
    public var builtInAuthorizationServer: Bool
    /// Expected `iss` of access tokens (default: `{origin}/auth`).
    public var issuer: String
    /// Expected `aud` of access tokens (default: the public base URL).
    public var audience: String
    /// Lifetime of issued access tokens in seconds (at most 300).
    public var tokenLifetimeSeconds: Int
    /// PEM file with the ES384 key the built-in server signs tokens with.
    public var signingKeyFile: String
    /// JWKS of an external issuer (when the built-in server is off).
    public var jwksURL: String
    public var jwksFetchTimeoutMilliseconds: Int
    /// Most tokens one client is issued per minute by the built-in server; more is 429.
    public var tokenRequestsPerMinute: Int
    /// The token endpoint clients are told about: `https://host:port/auth/token` for the built-in
    /// server, or `TokenEndpoint` for an external one.
    public var tokenEndpoint: String
}
