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

    public init(settings: Settings, database: Database, security: SecurityContext,
                environment: ServiceEnvironment = .live, logger: Logger) {
        self.settings = settings
        self.database = database
        self.security = security
        self.environment = environment
        self.logger = logger
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        do {
            return try route(request)
        } catch {
            return ErrorResponder.response(for: error, logger: logger)
        }
    }

    /// The request routes, relative to the FHIR base path.
    private func route(_ request: HTTPRequest) throws -> HTTPResponse {
        switch request.path {
        case "/auth/token": return token(request)
        case FileDownloadAuthorization.path: return try authorizeFileDownload(request)
        default: break
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
        let access = Access(client: try security.authenticate(authorization: request.header("authorization"), now: environment.now()))
        if let operation = segments.last, operation.hasPrefix("$") {
            return try routeOperation(request, segments: segments, access: access)
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
            let key = ResourceKey(type: ResourceType(segments[0]), id: segments[1])
            try ResourceInput.checkURLType(key.type)
            try ResourceInput.checkURLId(key.id)
            switch request.method {
            case "GET", "HEAD": return try read(key, access: access)
            case "PUT": return try update(request, key: key, access: access)
            case "DELETE": return try delete(key, access: access)
            default: throw ErrorResponder.methodNotAllowed(request.method, allowed: ["GET", "PUT", "DELETE"])
            }
        default:
            if segments.isEmpty {
                throw ErrorResponder.methodNotAllowed(request.method, allowed: ["POST"])
            }
            throw FHIRError.notFound("No FHIR endpoint at '\(request.path)'")
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
