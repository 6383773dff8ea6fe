import ExportDomain
import FHIRService

/// Builds an `HTTPRequest` from CGI/FastCGI parameters and writes responses in CGI form.
enum RequestAdapter {
    static func request(parameters: [String: String], body: [UInt8]) -> HTTPRequest {
        var headers: [String: String] = [:]
        for (name, value) in parameters where name.hasPrefix("HTTP_") {
            headers[headerName(name.utf8.dropFirst(5))] = value
        }
        if let contentType = parameters["CONTENT_TYPE"], !contentType.isEmpty { headers["content-type"] = contentType }
        let path = parameters["DOCUMENT_URI"] ?? ((parameters["SCRIPT_NAME"] ?? "") + (parameters["PATH_INFO"] ?? ""))
        return HTTPRequest(method: parameters["REQUEST_METHOD"] ?? "GET", path: path,
                           query: parameters["QUERY_STRING"] ?? "", headers: headers, body: body,
                           originalURI: parameters["ATR_ORIGINAL_URI"],
                           remoteAddress: parameters["REMOTE_ADDR"].flatMap { $0.isEmpty ? nil : $0 },
                           linkState: parameters["ATR_LINK_STATE"],
                           requestId: parameters["REQUEST_ID"].flatMap { $0.isEmpty ? nil : $0 },
                           fromMetricsListener: parameters["ATR_METRICS"] == "1")
    }

    /// `ACCEPT_ENCODING` → `accept-encoding`, on bytes (this runs for every header of every request).
    private static func headerName(_ cgiName: Substring.UTF8View) -> String {
        String(decoding: cgiName.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "_"): UInt8(ascii: "-")
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte | 0x20
            default: byte
            }
        }, as: UTF8.self)
    }

    /// The declared body length; nil when absent, or an error response when it is unusable
    /// or over the limit (then the body is never read).
    static func contentLength(_ parameters: [String: String], limit: Int) -> Result<Int, FHIRError> {
        guard let text = parameters["CONTENT_LENGTH"], !text.isEmpty else { return .success(0) }
        guard let length = Int(text), length >= 0 else {
            return .failure(FHIRError.badRequest(.invalid, "Content-Length is not a number"))
        }
        guard length <= limit else { return .failure(ErrorResponder.bodyTooLarge(limit: limit)) }
        return .success(length)
    }

    /// `Status:` line, headers, blank line, body: the CGI response form FastCGI also uses.
    static func serialize(_ response: HTTPResponse) -> [UInt8] {
        var head = "Status: \(response.status) \(HTTPResponse.reasonPhrase(response.status))\r\n"
        for header in response.headers { head += "\(header.name): \(header.value)\r\n" }
        if response.status != 204 && response.status != 304 { head += "Content-Length: \(response.body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + response.body
    }
}
