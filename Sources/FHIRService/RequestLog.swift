import ExportDomain
import Logging

/// One log line per request: method, route, status, duration, client, nginx's request id.
/// The route is the path with the query's parameter names only: values can hold URL
/// signatures (`md5=`), and no token, body or resource content is ever logged.
extension FHIRService {
    func logRequest(_ request: HTTPRequest, status: Int, clientId: String?, elapsed: Duration) {
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("request", metadata: [
            "method": .string(Self.printable(request.method, limit: 16)),
            "route": .string(Self.loggedRoute(request)),
            "status": .stringConvertible(status),
            "duration-ms": .string(String(Int(milliseconds.rounded()))),
            "client-id": .string(clientId ?? "-"),
            "request-id": .string(request.requestId.map { Self.printable($0, limit: 64) } ?? "-"),
        ])
    }

    static func loggedRoute(_ request: HTTPRequest) -> String {
        let names = request.query.split(separator: "&").map { $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
        let query = names.isEmpty ? "" : "?" + names.joined(separator: "&")
        return printable(request.path + query, limit: 300)
    }

    /// Control characters and quotes would let a client write its own log lines; long paths are cut.
    static func printable(_ text: String, limit: Int) -> String {
        // Almost every path and method is short printable ASCII: kept as it is, without a copy.
        if text.utf8.count <= limit, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }) {
            return text
        }
        var shown = String(text.unicodeScalars.prefix(limit).map { scalar -> Character in
            scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\"" ? "?" : Character(scalar)
        })
        if text.unicodeScalars.count > limit { shown += "…" }
        return shown
    }
}
