/// Which audit records to list: `GET {base}/AuditEvent?…` and `atrctl audit` ask the same way.
/// Records come in the order they were written, `count` at a time; `after` continues a listing
/// after the record with that id (the `next` link).
public struct AuditQuery: Sendable, Equatable {
    /// Recorded at or after this instant.
    public var from: FHIRInstant?
    /// Recorded before this instant.
    public var until: FHIRInstant?
    public var clientId: String?
    /// An entity value (`Group/{id}`, `Patient/{id}`, a task id, `{taskId}/{file}`).
    public var entity: String?
    /// Any of these actions; nil = all.
    public var actions: [AuditAction]?
    public var count: Int
    public var after: Int64?

    public static let defaultCount = 100
    public static let maximumCount = SearchPaging.maximumCount

    public init(from: FHIRInstant? = nil, until: FHIRInstant? = nil, clientId: String? = nil, entity: String? = nil,
                actions: [AuditAction]? = nil, count: Int = defaultCount, after: Int64? = nil) {
        self.from = from
        self.until = until
        self.clientId = clientId
        self.entity = entity
        self.actions = actions
        self.count = count
        self.after = after
    }

    public static let parameters = ["date", "agent", "entity", "type", "_count", "_cursor"]

    /// The FHIR search: `date` (repeatable, with `ge` `gt` `le` `lt` `eq` or no prefix, at any
    /// precision from a year to an instant), `agent` (a client id), `entity`, `type` (an
    /// `AuditAction` code or an `AuditEvent.type` code, comma-separated for any of several),
    /// `_count` (1…1000) and `_cursor` (from a `next` link). Anything else is a 400.
    public static func parse(_ items: [(name: String, value: String)]) throws(FHIRError) -> AuditQuery {
        var query = AuditQuery()
        var seen = Set<String>()
        for (name, value) in items {
            guard parameters.contains(name) else {
                throw FHIRError.badRequest(.notSupported, "Unknown or unsupported search parameter '\(name)' for AuditEvent (supported: \(parameters.joined(separator: ", ")))")
            }
            guard name == "date" || seen.insert(name).inserted else {
                throw FHIRError.badRequest(.invalid, "\(name) may be given once")
            }
            switch name {
            case "date": try query.narrow(date: value)
            case "agent": query.clientId = try nonEmpty(name, value)
            case "entity": query.entity = try nonEmpty(name, value)
            case "type":
                var actions: [AuditAction] = []
                for code in value.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                    let matched = AuditAction.matching(code)
                    guard !matched.isEmpty else {
                        throw FHIRError.badRequest(.value, "type '\(code)' is not an audit event type (known: "
                                                   + AuditAction.allCases.map(\.rawValue).joined(separator: ", ") + ", 110106, 110114, rest)")
                    }
                    actions += matched.filter { !actions.contains($0) }
                }
                query.actions = actions
            case "_count": query.count = try SearchPaging.count(value)
            default:
                guard let after = Int64(value), after >= 0 else {
                    throw FHIRError.badRequest(.value, "_cursor '\(value)' is not one this server handed out")
                }
                query.after = after
            }
        }
        return query
    }

    private static func nonEmpty(_ name: String, _ value: String) throws(FHIRError) -> String {
        guard !value.isEmpty else { throw FHIRError.badRequest(.value, "\(name) must not be empty") }
        return value
    }

    /// Intersects the window with one `date` condition.
    mutating func narrow(date: String) throws(FHIRError) {
        guard let value = DateSearchValue.parse(date) else {
            throw FHIRError.badRequest(.value, "date '\(date)' is not \(DateSearchValue.syntax)")
        }
        switch value.prefix {
        case .ge: raiseFrom(value.start)
        case .gt: raiseFrom(value.end)
        case .lt: lowerUntil(value.start)
        case .le: lowerUntil(value.end)
        case .eq:
            raiseFrom(value.start)
            lowerUntil(value.end)
        }
    }

    private mutating func raiseFrom(_ instant: FHIRInstant) {
        if from.map({ $0 < instant }) ?? true { from = instant }
    }

    private mutating func lowerUntil(_ instant: FHIRInstant) {
        if until.map({ instant < $0 }) ?? true { until = instant }
    }

    /// The query string of the next page after the record `lastId`, keeping every other parameter.
    public static func nextPage(_ items: [(name: String, value: String)], after lastId: Int64) -> [(name: String, value: String)] {
        SearchPaging.nextPage(items, cursor: String(lastId))
    }
}
