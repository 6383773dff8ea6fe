import ExportDomain
import Logging
import Storage

/// The one place where errors become responses: client errors as their OperationOutcome,
/// everything else as a 500/503 OperationOutcome that reveals no internals.
public enum ErrorResponder {
    public static func response(for error: Error, logger: Logger) -> HTTPResponse {
        switch error {
        case let error as FHIRError:
            if error.status >= 500 { logger.error("request failed", metadata: ["error": "\(error)"]) }
            return .fhir(error.status, error.operationOutcome, headers: error.headers)
        case let error as StorageError where error.isBusy:
            logger.warning("database busy", metadata: ["error": "\(error)"])
            let busy = FHIRError(status: 503, code: .transient, "The database is busy; retry shortly",
                                 headers: [HTTPHeader("Retry-After", "1")])
            return .fhir(busy.status, busy.operationOutcome, headers: busy.headers)
        default:
            logger.error("unexpected error", metadata: ["error": "\(error)"])
            let failure = FHIRError(status: 500, code: .exception, "Internal server error")
            return .fhir(failure.status, failure.operationOutcome)
        }
    }

    public static func bodyTooLarge(limit: Int) -> FHIRError {
        FHIRError(status: 413, code: .tooLong, "The request body is larger than the limit of \(limit) bytes")
    }

    static func methodNotAllowed(_ method: String, allowed: [String]) -> FHIRError {
        FHIRError(status: 405, code: .notSupported, "Method \(method) is not allowed here; allowed: \(allowed.joined(separator: ", "))",
                  headers: [HTTPHeader("Allow", allowed.joined(separator: ", "))])
    }
}
