/// An error that knows how it reads as an HTTP response: its status, extra headers, media type
/// and JSON body. Handlers just `throw`; `ErrorResponder` in FHIRService is the one place that
/// turns any error into a response, and it renders only what is not a `RenderableError`
/// (the database staying busy, and everything unexpected) itself.
public protocol RenderableError: Error {
    var status: Int { get }
    /// Headers besides `Content-Type` (e.g. `Retry-After`, `Allow`, `WWW-Authenticate`).
    var headers: [HTTPHeader] { get }
    var mediaType: String { get }
    var body: JSONValue { get }
}

extension FHIRError: RenderableError {
    public var mediaType: String { MediaType.fhirJSON }
    public var body: JSONValue { operationOutcome }
}

extension OAuthError: RenderableError {
    /// RFC 6749 §5.1: token responses must not be cached (nginx adds `Cache-Control: no-store`);
    /// a 401 names the scheme the client failed to authenticate with.
    public var headers: [HTTPHeader] {
        var headers = [HTTPHeader("Pragma", "no-cache")]
        if status == 401 { headers.append(HTTPHeader("WWW-Authenticate", #"Bearer realm="ATR Export""#)) }
        if let retryAfter { headers.append(HTTPHeader("Retry-After", String(retryAfter))) }
        return headers
    }

    public var mediaType: String { "application/json" }
    public var body: JSONValue { json() }
}

/// A failed export task's stored OperationOutcome, answered by `$exportstatus` as a 500.
public struct FailedTaskOutcome: RenderableError {
    public var outcome: JSONValue

    public init(stored: [UInt8]?) {
        outcome = stored.flatMap { try? JSONParser.parse($0) }
            ?? ExportFailureReason.internalError.operationOutcome
    }

    public var status: Int { 500 }
    public var headers: [HTTPHeader] { [] }
    public var mediaType: String { MediaType.fhirJSON }
    public var body: JSONValue { outcome }
}
