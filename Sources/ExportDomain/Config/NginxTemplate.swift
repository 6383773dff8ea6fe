/// Fills `{{name}}` placeholders in an nginx configuration template from the settings, so the
/// body limit, socket, port and paths nginx uses are the ones the application uses.
public enum NginxTemplate {
    public static func values(for settings: Settings, workingDirectory: String) -> [String: String] {
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : workingDirectory + "/" + path
        }
        return [
            "fastcgi_socket": absolute(settings.fastCGISocket),
            "client_max_body_size": String(settings.requestBodyLimit),
            "listen_port": String(settings.publicBase.port),
            "server_name": settings.publicBase.host,
            "base_path": settings.basePath,
            "task_files": absolute(settings.taskFileStoragePath),
            "working_directory": workingDirectory,
            "public_base_url": settings.publicBaseURL,
            "public_origin": settings.publicBase.origin,
            "signed_url_secret": settings.signedURLSecret,
            "file_auth_path": FileDownloadAuthorizationPath.path,
            "metrics_listen": settings.metricsListen,
        ]
    }

    public struct MissingValue: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "the template uses {{\(name)}}, which has no value" }
    }

    public struct IncludeFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `{{include FILE}}` inlines another template (rendered with the same values); `include`
    /// reads it, so that this module stays free of I/O. A value of several lines continues at
    /// the placeholder's indentation, so inlined blocks keep the surrounding layout.
    public static func render(_ template: String, values: [String: String],
                              include: ((String) throws -> String)? = nil) throws -> String {
        try render(template, values: values, include: include, depth: 0)
    }

    private static func render(_ template: String, values: [String: String],
                               include: ((String) throws -> String)?, depth: Int) throws -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstRange(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else { break }
            let name = String(rest[open.upperBound..<close.lowerBound])
            let value: String
            if name.hasPrefix("include ") {
                let path = String(name.dropFirst("include ".count).drop { $0 == " " })
                guard let include else { throw IncludeFailure(description: "{{include \(path)}}: this template cannot include files") }
                // A template that includes itself would otherwise never end.
                guard depth < 8 else { throw IncludeFailure(description: "{{include \(path)}}: includes nested too deep") }
                value = try render(try include(path), values: values, include: include, depth: depth + 1)
            } else {
                guard let found = values[name] else { throw MissingValue(name: name) }
                value = found
            }
            output += indented(value, as: output)
            rest = rest[close.upperBound...]
        }
        return output + rest
    }

    private static func indented(_ value: String, as output: String) -> String {
        let lineStart = output.lastIndex(of: "\n").map { output.index(after: $0) } ?? output.startIndex
        let indent = output[lineStart...]
        guard value.contains("\n"), indent.allSatisfy({ $0 == " " || $0 == "\t" }) else { return value }
        var lines = value.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.enumerated().map { index, line in
            index == 0 || line.isEmpty ? String(line) : String(indent) + line
        }.joined(separator: "\n")
    }
}

/// The values that differ between the development stack and a production host; the site
/// template (`deploy/nginx/atr-export.site.template`) is the same for both.
public enum NginxSite: String, CaseIterable, Sendable {
    /// `make run` / `make test`: loopback only, the dev certificate and secret under `state_dir`,
    /// the snippets straight from the checkout.
    case dev
    /// The paths of `deploy/systemd` and the README's Deployment section; IPv4 and IPv6, HTTP
    /// redirected to HTTPS.
    case production

    /// `values` are the settings' values plus the `--set` ones; a name already set there wins,
    /// so an operator can override any of these.
    public func values(given values: [String: String]) throws -> [String: String] {
        func need(_ name: String) throws -> String {
            guard let value = values[name] else { throw NginxTemplate.MissingValue(name: name) }
            return value
        }
        let port = try need("listen_port"), serverName = try need("server_name")
        var site: [String: String]
        switch self {
        case .dev:
            let state = try need("state_dir")
            site = [
                "listen": "listen 127.0.0.1:\(port) ssl;",
                "ssl_certificate": "\(state)/tls/server.pem",
                "ssl_certificate_key": "\(state)/tls/server.key",
                "nginx_snippets": try need("working_directory") + "/deploy/nginx",
                "secure_link_secret_conf": "\(state)/nginx/secure-link-secret.conf",
                "access_log": "access_log \(state)/log/nginx-access.log atr_export;",
                "http_redirect_server": "# No plain-HTTP server: the dev stack listens on one loopback port.",
                "strict_transport_security": "# No HSTS: browsers would keep it for every localhost port.",
            ]
        case .production:
            let snippets = values["nginx_snippets"] ?? "/etc/atr-export/nginx"
            site = [
                "listen": "listen \(port) ssl http2;\nlisten [::]:\(port) ssl http2;",
                "ssl_certificate": "/etc/ssl/certs/\(serverName).pem",
                "ssl_certificate_key": "/etc/ssl/private/\(serverName).key",
                "nginx_snippets": snippets,
                "secure_link_secret_conf": "\(snippets)/secure-link-secret.conf",
                "access_log": "access_log /var/log/nginx/atr-export.access.log atr_export;",
                // To the configured origin, so a non-default HTTPS port is kept; none when the
                // HTTPS server itself is on port 80.
                "http_redirect_server": port == "80" ? "# HTTPS listens on port 80: no plain-HTTP redirect." : """
                    # Plain HTTP only redirects to HTTPS.
                    server {
                        listen 80;
                        listen [::]:80;
                        server_name \(serverName);
                        return 301 \(try need("public_origin"))$request_uri;
                    }
                    """,
                "strict_transport_security": #"add_header Strict-Transport-Security "max-age=63072000" always;"#,
            ]
        }
        // The dev stack's listener is a unix socket under its state directory, so stacks side by
        // side (the tests run several) never compete for a port.
        let metricsListen = self == .dev ? "unix:\(try need("state_dir"))/run/metrics.sock" : try need("metrics_listen")
        site["metrics_server"] = Self.metricsServer(listen: metricsListen, snippets: site["nginx_snippets"] ?? "",
                                                    socket: try need("fastcgi_socket"))
        return site.merging(values) { _, given in given }
    }

    /// A server of its own on the loopback address for Prometheus: atr-fcgi answers `/metrics`
    /// only when this location marks the request (`ATR_METRICS`), so the public server never can.
    static func metricsServer(listen: String, snippets: String, socket: String) -> String {
        guard !listen.isEmpty else { return "# No metrics listener (Metrics.Listen is empty)." }
        return """
            # Prometheus metrics (Metrics.Listen), on loopback only.
            server {
                listen \(listen);
                access_log off;
                location = \(MetricsPath.path) {
                    include \(snippets)/fastcgi-params.conf;
                    fastcgi_param ATR_METRICS 1;
                    fastcgi_pass unix:\(socket);
                }
                location / {
                    return 404;
                }
            }
            """
    }
}

/// Where the metrics listener serves Prometheus' text format.
public enum MetricsPath {
    public static let path = "/metrics"
}

/// Where nginx sends `auth_request` subrequests for file downloads (an internal location).
public enum FileDownloadAuthorizationPath {
    public static let path = "/_auth/files"
}
