import ExportDomain

/// A request's route as a metrics label: the path's shape with ids left out (`Patient/{id}`,
/// `Group/{id}/$davinci-data-export`), so the number of label values stays small whatever
/// clients send.
enum MetricsRoute {
    static let tokenEndpoint = "/auth/token"

    static func label(path: String, basePath: String) -> String {
        if path == tokenEndpoint || path == FileDownloadAuthorizationPath.path { return path }
        guard path == basePath || path.hasPrefix(basePath + "/") else { return "other" }
        let segments = path.dropFirst(basePath.count).split(separator: "/").map(String.init)
        func type(_ name: String) -> String { ResourceTypes.all.contains(name) ? name : "{unknown}" }
        func operation(_ name: String) -> String { knownOperations.contains(name) ? name : "$other" }
        switch segments.count {
        case 0: return "{base}"
        case 1 where segments[0].hasPrefix("$"): return operation(segments[0])
        case 1 where segments[0] == "metadata": return "metadata"
        case 1: return type(segments[0])
        case 2 where segments == [".well-known", "smart-configuration"]: return ".well-known/smart-configuration"
        case 2 where segments[1].hasPrefix("$"): return "\(type(segments[0]))/\(operation(segments[1]))"
        case 2: return "\(type(segments[0]))/{id}"
        case 3 where segments[2] == "_history": return "\(type(segments[0]))/{id}/_history"
        case 3 where segments[2].hasPrefix("$"): return "\(type(segments[0]))/{id}/\(operation(segments[2]))"
        case 4 where segments[2] == "_history": return "\(type(segments[0]))/{id}/_history/{vid}"
        default: return "other"
        }
    }

    static let knownOperations: Set<String> = [
        "$davinci-data-export", "$export", "$exportstatus", "$exportfilerequest",
        "$member-add", "$member-remove", "$confirm-attribution-list", "$attribution-status",
    ]
}
