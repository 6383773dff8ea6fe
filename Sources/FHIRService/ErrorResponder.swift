import ExportDomain
import Logging
import Storage

/// The one place where errors become responses. A `RenderableError` renders itself; this maps
/// only what is not one: the database staying locked past its busy timeout (503 +
/// `Retry-After`) and anything unexpected (500 that reveals no internals; the detail is logged).
/// Both in the dialect of the endpoint: FHIR OperationOutcome, or OAuth JSON at the token endpoint.
public enum ErrorResponder {
    public enum Dialect: Sendable {
        case fhir, oauth
    }

    public static func response(for error: Error, dialect: Dialect = .fhir, logger: Logger) -> HTTPResponse {
        response(rendering: renderable(error, dialect: dialect, logger: logger))
    }

    public static func response(rendering rendered: RenderableError) -> HTTPResponse {
        HTTPResponse(status: rendered.status, headers: [HTTPHeader("Content-Type", rendered.mediaType)] + rendered.headers,
                            body: rendered.body.serialized())
    }

    /// The error as a `RenderableError`, logging what the client is not told.
    public static func renderable(_ error: Error, dialect: Dialect = .fhir, logger: Logger) -> RenderableError {
        switch error {
        case let error as FHIRError where dialect == .oauth:
            return renderable(oauth(error), dialect: dialect, logger: logger)
        case let error as FailedTaskOutcome:
            // The task's failure was logged when it failed; polling it is not a new one.
            return error
        case let error as RenderableError:
            if error.status >= 500 { logger.error("request failed", metadata: ["error": "\(error)"]) }
            return error
        // These two are logged here, so they are returned as rendered, not through the cases above.
        case let error as StorageError where error.isBusy:
            logger.warning("database busy", metadata: ["error": "\(error)"])
            let busy = FHIRError(status: 503, code: .transient, "The database is busy; retry shortly", headers: [HTTPHeader("Retry-After", "1")])
            return dialect == .oauth ? oauth(busy) : busy
        case let error as StorageError where error.isUnstorableText:
            let invalid = FHIRError(status: 400, code: .invalid, "A value holds a NUL character (U+0000), which is not accepted")
            return dialect == .oauth ? oauth(invalid) : invalid
        default:
            logger.error("unexpected error", metadata: ["error": "\(error)"])
            let failure = FHIRError(status: 500, code: .exception, "Internal server error")
            return dialect == .oauth ? oauth(failure) : failure
        }
    }

    /// OAuth clients read `{"error": …}` only: a FHIR error at the token endpoint says the same in their terms.
    private static func oauth(_ error: FHIRError) -> OAuthError {
        let code: OAuthError.Code = error.status == 503 ? .temporarilyUnavailable : error.status >= 500 ? .serverError : .invalidRequest
        return OAuthError(status: error.status, error: code.rawValue, description: error.diagnostics,
                          retryAfter: error.headers.first { $0.name == "Retry-After" }.flatMap { Int($0.value) })
    }

    public static func bodyTooLarge(limit: Int) -> FHIRError {
        FHIRError(status: 413, code: .tooLong, "The request body is larger than the limit of \(limit) bytes")
    }

    static func methodNotAllowed(_ method: String, allowed: [String]) -> FHIRError {
        FHIRError(status: 405, code: .notSupported, "Method \(method) is not allowed here; allowed: \(allowed.joined(separator: ", "))",
                  headers: [HTTPHeader("Allow", allowed.joined(separator: ", "))])
    }
}
