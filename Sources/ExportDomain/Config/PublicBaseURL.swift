/// `PublicBaseUrl`, parsed once when the configuration is read: `http(s)://host[:port]/path`.
/// Everything that needs a part of it (routing, the token issuer, signed file links, the nginx
/// `listen` and `server_name`) reads it from here.
public struct PublicBaseURL: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    /// As written, IPv6 literals with their brackets (`[::1]`).
    public let host: String
    /// Explicit, or the scheme's default (443, 80).
    public let port: Int
    /// The FHIR base path, `/fhir`: never empty, no trailing slash.
    public let path: String
    /// `scheme://host[:port]` as configured.
    public let origin: String

    /// The whole base URL without a trailing slash.
    public var description: String { origin + path }

    public init(parsing url: String) throws(ConfigurationError) {
        func invalid(_ problem: String) -> ConfigurationError {
            ConfigurationError(key: "PublicBaseUrl", "\(problem), not '\(url)'")
        }
        guard let schemeEnd = url.firstRange(of: "://") else { throw invalid("must be an absolute http(s) URL") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else { throw invalid("must be an absolute http(s) URL") }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        guard path.count > 1, !path.contains("?"), !path.contains("#") else {
            throw invalid("must include a path such as /fhir (no query or fragment)")
        }
        guard !authority.isEmpty, !authority.contains("@") else { throw invalid("must name a host (without user info)") }
        let host: Substring
        let portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("has an unclosed IPv6 literal") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { throw invalid("has text after the IPv6 literal") }
            portText = after.isEmpty ? nil : after.dropFirst()
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty, !host.contains(":") || host.hasPrefix("[") else { throw invalid("must name a host") }
        let port: Int
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy({ ("0"..."9").contains($0) }), let number = Int(portText),
                  (1...65535).contains(number) else {
                throw invalid("has an invalid port")
            }
            port = number
        } else {
            port = scheme == "https" ? 443 : 80
        }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.path = path
        origin = "\(scheme)://\(authority)"
    }
}
