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
            "signed_url_secret": settings.signedURLSecret,
            "files_auth_request": settings.smart.enabled && settings.bulkDataExport.requiresAccessToken
                ? "auth_request \(FileDownloadAuthorizationPath.path);" : "# requiresAccessToken is off: the signed URL suffices",
        ]
    }

    public struct MissingValue: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "the template uses {{\(name)}}, which has no value" }
    }

    public static func render(_ template: String, values: [String: String]) throws -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstRange(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else { break }
            let name = String(rest[open.upperBound..<close.lowerBound])
            guard let value = values[name] else { throw MissingValue(name: name) }
            output += value
            rest = rest[close.upperBound...]
        }
        return output + rest
    }
}

/// Where nginx sends `auth_request` subrequests for file downloads (an internal location).
public enum FileDownloadAuthorizationPath {
    public static let path = "/_auth/files"
}
