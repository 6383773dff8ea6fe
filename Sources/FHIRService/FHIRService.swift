import ExportDomain
import Logging
import Runtime
import Storage

/// Answers FHIR requests. One instance per worker thread: it owns that thread's database
/// connection. Never throws: every failure becomes a response in `ErrorResponder`.
public final class FHIRService {
    public let settings: Settings
    let database: Database
    let security: SecurityContext
    let environment: ServiceEnvironment
    let logger: Logger
    let pollPacer: PollPacer
    let metrics: ServiceMetrics
    private let requestMetrics: RequestMetrics
    let renderedManifests = RenderedManifests()
    let parsedTaskRequests = ParsedTaskRequests()

    public init(settings: Settings, database: Database, security: SecurityContext,
                environment: ServiceEnvironment = .live, pollPacer: PollPacer = .processWide,
                metrics: ServiceMetrics = .processWide, logger: Logger) {
        self.settings = settings
        self.pollPacer = pollPacer
        self.metrics = metrics
        requestMetrics = RequestMetrics(metrics)
        self.database = database
        self.security = security
        self.environment = environment
        self.logger = logger
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        if request.fromMetricsListener && request.path == MetricsPath.path { return metricsExposition() }
        let started = ContinuousClock.now
        let audit = RequestAudit(address: request.remoteAddress)
        let response = answer(request, audit: audit)
        let elapsed = ContinuousClock.now - started
        requestMetrics.record(route: MetricsRoute.label(path: request.path, basePath: settings.basePath), status: response.status,
                              duration: elapsed)
        logRequest(request, status: response.status, clientId: audit.clientId, elapsed: elapsed)
        return response
    }

    private func metricsExposition() -> HTTPResponse {
        do {
            return HTTPResponse(status: 200, headers: [HTTPHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                body: try metrics.exposition(database, now: environment.now()))
        } catch {
            return ErrorResponder.response(rendering: ErrorResponder.renderable(error, logger: logger))
        }
    }

    private func answer(_ request: HTTPRequest, audit: RequestAudit) -> HTTPResponse {
        if request.path == "/auth/token" { return token(request, audit: audit) }
        let response: HTTPResponse
        var reason: String?
        do {
            response = try route(request, audit: audit)
        } catch {
            let rendered = ErrorResponder.renderable(error, logger: logger)
            reason = (rendered as? FHIRError)?.diagnostics
            response = ErrorResponder.response(rendering: rendered)
        }
        return finishAudit(audit, response: response, reason: reason, dialect: .fhir)
    }

    /// The request routes, relative to the FHIR base path. Each sets the audit action it is
    /// recorded under before anything can refuse it.
    private func route(_ request: HTTPRequest, audit: RequestAudit) throws -> HTTPResponse {
        if request.path == FileDownloadAuthorization.path {
            audit.action = .fileDownload
            return try authorizeFileDownload(request, audit: audit)
        }
        guard let segments = relativeSegments(request.path) else {
            throw FHIRError.notFound("No FHIR endpoint at '\(request.path)'; the FHIR base is \(settings.publicBaseURL)")
        }
        if request.body.count > settings.requestBodyLimit {
            throw ErrorResponder.bodyTooLarge(limit: settings.requestBodyLimit)
        }
        // Open to anyone: what a client needs to find out how to get a token.
        if segments == ["metadata"] {
            try allow(request, ["GET", "HEAD"])
            return .fhir(200, CapabilityStatementBuilder.make(baseURL: settings.publicBaseURL, tokenEndpoint: settings.smart.tokenEndpoint))
        }
        if segments == [".well-known", "smart-configuration"] {
            try allow(request, ["GET", "HEAD"])
            return smartConfiguration()
        }
        audit.action = Self.auditAction(method: request.method, segments: segments)
        if segments.count >= 2, segments[0] == "Group", !segments[1].hasPrefix("$") {
            audit.entities = [.group(segments[1])]
        } else if segments.count >= 2, !segments[1].hasPrefix("$"), ResourceID.isValid(segments[1]) {
            audit.entities = [.resource(ResourceKey(type: ResourceType(segments[0]), id: segments[1]))]
        }
        // The most frequent request, a status poll, only reads: the caller's and the task's
        // rows in one read transaction (status-poll profiles, README "Performance").
        if segments == ["$exportstatus"] && (request.method == "GET" || request.method == "HEAD") {
            return try database.readTogether { try routeAuthenticated(request, segments: segments, audit: audit) }
        }
        return try routeAuthenticated(request, segments: segments, audit: audit)
    }

    /// The routes that need the caller: authenticated first, then dispatched.
    private func routeAuthenticated(_ request: HTTPRequest, segments: [String], audit: RequestAudit) throws -> HTTPResponse {
        let access = try access(request, audit: audit)
        try settings.requestJSONLimits.check(request.body)
        if let operation = segments.last, operation.hasPrefix("$") {
            return try routeOperation(request, segments: segments, access: access)
        }
        if segments.first == "AuditEvent" {
            return try routeAuditTrail(request, segments: segments, access: access)
        }
        switch (request.method, segments.count) {
        case ("POST", 0):
            return try handleBundle(request, access: access)
        case (_, 1):
            let type = ResourceType(segments[0])
            try ResourceInput.checkURLType(type)
            switch request.method {
            case "POST": return try create(request, type: type, access: access)
            case "GET", "HEAD": return try search(request, type: type, access: access)
            default: throw ErrorResponder.methodNotAllowed(request.method, allowed: ["GET", "POST"])
            }
        case (_, 2):
            let key = try resourceKey(segments)
            switch request.method {
            case "GET", "HEAD": return try read(key, access: access)
            case "PUT": return try update(request, key: key, access: access)
            case "DELETE": return try delete(key, access: access)
            default: throw ErrorResponder.methodNotAllowed(request.method, allowed: ["GET", "PUT", "DELETE"])
            }
        case (_, 3) where segments[2] == "_history", (_, 4) where segments[2] == "_history":
            let key = try resourceKey(segments)
            try allow(request, ["GET", "HEAD"])
            return try segments.count == 3 ? history(key, access: access) : versionRead(key, versionId: segments[3], access: access)
        default:
            if segments.isEmpty {
                throw ErrorResponder.methodNotAllowed(request.method, allowed: ["POST"])
            }
            throw FHIRError.notFound("No FHIR endpoint at '\(request.path)'")
        }
    }

    private func resourceKey(_ segments: [String]) throws -> ResourceKey {
        let key = ResourceKey(type: ResourceType(segments[0]), id: segments[1])
        try ResourceInput.checkURLType(key.type)
        try ResourceInput.checkURLId(key.id)
        return key
    }

    /// What a request under the base is recorded as in the audit trail.
    static func auditAction(method: String, segments: [String]) -> AuditAction {
        let isRead = method == "GET" || method == "HEAD"
        switch segments.last {
        case "$exportstatus"?: return method == "DELETE" ? .exportCancel : .exportStatus
        case "$exportfilerequest"?: return .fileDownload
        case ListOperation.attributionStatus.rawValue?: return .read
        case let operation? where ListOperation(rawValue: operation) != nil: return .listChange
        case let operation? where operation.hasPrefix("$"): return .exportKickoff
        default: break
        }
        switch segments.count {
        case 1...2 where segments[0] == "AuditEvent" && isRead: return .auditQuery
        case 1 where isRead: return .search
        case 2 where isRead: return .read
        case 3 where isRead: return .history
        case 4 where isRead: return .read
        default: return .write
        }
    }

    /// `$operation` URLs: export kick-off at Group level, status, file request.
    private func routeOperation(_ request: HTTPRequest, segments: [String], access: Access) throws -> HTTPResponse {
        let operation = segments[segments.count - 1]
        let relativePath = "/" + segments.joined(separator: "/")
        switch (segments.count, operation) {
        case (1, "$exportstatus"):
            return try exportStatus(request, access: access)
        case (1, "$exportfilerequest"):
            return try exportFileRequest(request, access: access)
        case (3, _) where segments[0] == "Group" && ListOperation(rawValue: operation) != nil:
            return try listOperation(request, groupId: segments[1], operation: ListOperation(rawValue: operation)!, access: access)
        case (3, _) where segments[0] == "Group" && Self.exportOperations[operation] != nil:
            return try kickoff(request, groupId: segments[1], operation: Self.exportOperations[operation]!,
                               relativePath: relativePath, access: access)
        case (_, _) where Self.exportOperations[operation] != nil:
            throw unsupportedExportLevel(relativePath)
        default:
            throw FHIRError.badRequest(.notSupported, "Unknown operation '\(operation)' at '\(relativePath)'")
        }
    }

    /// Path segments after the base path, or nil when the path is outside it.
    private func relativeSegments(_ path: String) -> [String]? {
        let base = settings.basePath
        guard path == base || path.hasPrefix(base + "/") else { return nil }
        return path.dropFirst(base.count).split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    func allow(_ request: HTTPRequest, _ methods: [String]) throws {
        guard methods.contains(request.method) else {
            throw ErrorResponder.methodNotAllowed(request.method, allowed: methods.filter { $0 != "HEAD" })
        }
    }
}

/// What the service takes from the outside world, replaceable in tests.
public struct ServiceEnvironment: Sendable {
    public var now: @Sendable () -> FHIRInstant
    public var newId: @Sendable () -> String

    public init(now: @escaping @Sendable () -> FHIRInstant, newId: @escaping @Sendable () -> String) {
        self.now = now
        self.newId = newId
    }

    public static let live = ServiceEnvironment(now: SystemClock.now, newId: { SystemRandom.uuid() })
}
