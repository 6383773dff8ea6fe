import ExportDomain

/// A request as the web server hands it over (FastCGI params or CGI environment + body).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The decoded path (nginx's `DOCUMENT_URI`), e.g. `/fhir/Patient/123`.
    public var path: String
    /// The raw, still percent-encoded query string.
    public var query: String
    /// Header values by lower-cased name (`accept`, `prefer`, `content-type`, `authorization`).
    public var headers: [String: String]
    public var body: [UInt8]
    /// For nginx's `auth_request` subrequest: the URI of the request being authorised
    /// (the FastCGI parameter `ATR_ORIGINAL_URI`, set only by that internal location).
    public var originalURI: String?
    /// The client's network address as nginx saw it (`REMOTE_ADDR`), for the audit trail.
    public var remoteAddress: String?
    /// For the `auth_request` subrequest: nginx's `secure_link` verdict on the download's
    /// signature (`ATR_LINK_STATE`: empty = invalid, `0` = expired, `1` = valid).
    public var linkState: String?
    /// nginx's `$request_id` (`REQUEST_ID`), also sent to the client as `X-Request-Id`: what ties
    /// a client's report to nginx's access log line and atr-fcgi's.
    public var requestId: String?
    /// Set (`ATR_METRICS`) only by the location of nginx's loopback metrics listener.
    public var fromMetricsListener: Bool

    public init(method: String, path: String, query: String, headers: [String: String], body: [UInt8], originalURI: String? = nil,
                remoteAddress: String? = nil, linkState: String? = nil, requestId: String? = nil, fromMetricsListener: Bool = false) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.originalURI = originalURI
        self.remoteAddress = remoteAddress
        self.linkState = linkState
        self.requestId = requestId
        self.fromMetricsListener = fromMetricsListener
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// Query parameters in order, `+` and percent escapes decoded; nil when the query is malformed.
    public var queryItems: [(name: String, value: String)]? {
        var items: [(String, String)] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentDecoding.decode(parts[0]),
                  let value = PercentDecoding.decode(parts.count > 1 ? parts[1] : "") else { return nil }
            items.append((name, value))
        }
        return items
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [HTTPHeader]
    public var body: [UInt8]

    public init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func fhir(_ status: Int, _ resource: JSONValue, headers: [HTTPHeader] = []) -> HTTPResponse {
        fhir(status, bytes: resource.serialized(), headers: headers)
    }

    public static func fhir(_ status: Int, bytes: [UInt8], headers: [HTTPHeader] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [HTTPHeader("Content-Type", MediaType.fhirJSON)] + headers, body: bytes)
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 409: "Conflict"
        case 410: "Gone"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status \(status)"
        }
    }
}

enum PercentDecoding {
    /// `application/x-www-form-urlencoded` decoding; nil for a bad escape or invalid UTF-8.
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
