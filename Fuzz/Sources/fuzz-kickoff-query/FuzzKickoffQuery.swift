import ExportDomain
import FuzzSupport

/// A GET kick-off: `operation`, Group id, `Accept`, `Prefer` and the raw query string, one a line.
/// The query is split and decoded as a form (the same grammar as the URL query).
@main enum FuzzKickoffQuery {
    static func main() {
        FuzzDriver.run { input in
            let fields = input.textFields(5)
            let operation = ExportOperation(rawValue: fields[0]) ?? .davinciDataExport
            let query = (try? FormURLEncoding.decode(Array(fields[4].utf8)))?.map { (name: $0.0, value: $0.1) }
            guard let request = try? ExportKickoff.parse(
                method: "GET", operation: operation, groupId: fields[1], query: query, accept: fields[2],
                prefer: fields[3], contentType: nil, body: [], now: FuzzFixtures.now, requestURL: "fuzz")
            else { return }
            requireValid(request, operation: operation)
        }
    }
}
