/// An OAuth 2.0 token endpoint error (RFC 6749 §5.2), answered as
/// `{"error": ..., "error_description": ...}` with `status`.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error codes the token endpoint uses.
    public enum Code: String, Sendable, Equatable {
        case invalidRequest = "invalid_request"
        case invalidClient = "invalid_client"
        case invalidGrant = "invalid_grant"
        case unsupportedGrantType = "unsupported_grant_type"
        case invalidScope = "invalid_scope"
        /// RFC 6749 §4.1.2.1: the server cannot answer now (database busy); retry later.
        case temporarilyUnavailable = "temporarily_unavailable"
        /// RFC 6749 §4.1.2.1: an unexpected condition on the server.
        case serverError = "server_error"

        /// 401 for `invalid_client` (RFC 6749 §5.2, SMART Backend Services), 400 otherwise.
        public var status: Int {
            switch self {
            case .invalidClient: return 401
            case .temporarilyUnavailable: return 503
            case .serverError: return 500
            default: return 400
            }
        }
    }

    /// HTTP status: 401 for `invalid_client`, 400 for the other codes (unless built otherwise).
    public let status: Int
    /// The `error` code, e.g. `invalid_client`.
    public let error: String
    /// Human-readable `error_description`.
    public let description: String
    /// Seconds for a `Retry-After` header (with `temporarily_unavailable`).
    public let retryAfter: Int?

    public init(status: Int, error: String, description: String, retryAfter: Int? = nil) {
        self.status = status
        self.error = error
        self.description = description
        self.retryAfter = retryAfter
    }

    /// An error with the code's usual status.
    public init(_ code: Code, _ description: String) {
        self.init(status: code.status, error: code.rawValue, description: description)
    }

    /// The code, when `error` is one of `Code`'s.
    public var code: Code? { Code(rawValue: error) }

    public static func invalidRequest(_ description: String) -> OAuthError { OAuthError(.invalidRequest, description) }
    public static func invalidClient(_ description: String) -> OAuthError { OAuthError(.invalidClient, description) }
    public static func invalidGrant(_ description: String) -> OAuthError { OAuthError(.invalidGrant, description) }
    public static func unsupportedGrantType(_ description: String) -> OAuthError {
        OAuthError(.unsupportedGrantType, description)
    }
    public static func invalidScope(_ description: String) -> OAuthError { OAuthError(.invalidScope, description) }

    /// The response body.
    public func json() -> JSONValue {
        ["error": .string(error), "error_description": .string(description)]
    }
}
