import ExportDomain

/// One page of a Group search.
public struct GroupSearchPage: Sendable {
    /// Matching Groups the client may see, over all pages.
    public var total: Int
    /// This page's Groups in id order (none for `_summary=count`).
    public var groups: [StoredResource]
    /// The id to continue after (`_cursor` of the `next` link); nil on the last page.
    public var nextAfter: String?
}

/// The SQL of `GroupSearch`: every criterion an `EXISTS` over the search index (or, for
/// `managing-entity`, the reference index), so only the page's Groups are ever read whole.
extension Database {
    /// Groups matching every criterion of `search`. Only ids `include` accepts count and are
    /// listed (a Group the client may not see is left out as if it did not exist); the JSON of
    /// the others (big lists) is never loaded, nor that of Groups outside the page.
    public func searchGroups(_ search: GroupSearch, include: (String) -> Bool = { _ in true }) throws -> GroupSearchPage {
        var conditions = ["r.type = 'Group'", "r.deleted = 0"]
        var parameters: [SQLValue] = []
        func exists(_ parameter: String, _ alternatives: [(String, [SQLValue])]) {
            conditions.append("EXISTS (SELECT 1 FROM search_values s WHERE s.type = 'Group' AND s.id = r.id AND s.parameter = ? AND ("
                              + alternatives.map { "(\($0.0))" }.joined(separator: " OR ") + "))")
            parameters.append(.text(parameter))
            parameters += alternatives.flatMap(\.1)
        }
        for tokens in search.identifiers { exists("identifier", tokens.map(Self.tokenCondition)) }
        for tokens in search.characteristics { exists("characteristic", tokens.map(Self.tokenCondition)) }
        for values in search.characteristicValues {
            exists("characteristic-value", values.map { ("s.system = ? AND s.value = ?", [.text($0.code.key), .text($0.value.key)]) })
        }
        for dates in search.periods { exists("period", dates.map(Self.periodCondition)) }
        if let namePrefix = search.namePrefix {
            let normalized = SearchNormalization.normalize(namePrefix)
            exists("name", [("substr(s.value, 1, length(?)) = ?", [.text(normalized), .text(normalized)])])
        }
        for entities in search.managingEntities {
            let alternatives = entities.map { entity -> String in
                if let type = entity.type {
                    parameters += [.type(type), .text(entity.id)]
                    return "(f.target_type = ? AND f.target_id = ?)"
                }
                parameters.append(.text(entity.id))
                return "f.target_id = ?"
            }
            conditions.append("EXISTS (SELECT 1 FROM refs f WHERE f.source_type = 'Group' AND f.source_id = r.id AND f.path = '"
                              + ReferencePath.managingEntity.rawValue + "' AND (" + alternatives.joined(separator: " OR ") + "))")
        }
        let visible = try connection.query(
            "SELECT r.id FROM resources r WHERE \(conditions.joined(separator: " AND ")) ORDER BY r.id", parameters
        ) { $0.text(0) ?? "" }.filter(include)
        guard search.summary != .count else { return GroupSearchPage(total: visible.count, groups: [], nextAfter: nil) }
        // Keyset paging: ids are ASCII, so Swift's order is the database's binary order.
        let rest = search.after.map { after in visible.drop { $0 <= after } } ?? visible[...]
        let page = rest.prefix(search.count)
        var groups: [StoredResource] = []
        for id in page {
            if case .found(let group) = try read(ResourceKey(type: "Group", id: id)) { groups.append(group) }
        }
        return GroupSearchPage(total: visible.count, groups: groups, nextAfter: rest.count > page.count ? page.last : nil)
    }

    private static func tokenCondition(_ token: SearchToken) -> (String, [SQLValue]) {
        switch (token.system, token.code) {
        case (.named(let system), nil): return ("s.system = ?", [.text(system)])
        case (.named(let system), let code?): return ("s.system = ? AND s.value = ?", [.text(system), .text(code)])
        case (.none, let code): return ("s.system IS NULL AND s.value = ?", [.text(code ?? "")])
        case (.any, let code): return ("s.value = ?", [.text(code ?? "")])
        }
    }

    /// FHIR R4 date search against the indexed contract period `[start, end)` (`system`,
    /// `value`: milliseconds, NULL start and empty end unbounded) for a search value naming
    /// `[low, high)`: `eq` the search range contains the period, `gt` the period reaches past
    /// `high`, `lt` it starts before `low`, `ge` = `gt` or `eq`, `le` = `lt` or `eq`.
    private static func periodCondition(_ date: DateSearchValue) -> (String, [SQLValue]) {
        let low = SQLValue.integer(date.start.millisecondsSinceEpoch)
        let high = SQLValue.integer(date.end.millisecondsSinceEpoch)
        let contained = ("s.system IS NOT NULL AND CAST(s.system AS BIGINT) >= ? AND s.value <> '' AND CAST(s.value AS BIGINT) <= ?", [low, high])
        let after = ("s.value = '' OR CAST(s.value AS BIGINT) > ?", [high])
        let before = ("s.system IS NULL OR CAST(s.system AS BIGINT) < ?", [low])
        func either(_ a: (String, [SQLValue]), _ b: (String, [SQLValue])) -> (String, [SQLValue]) {
            ("(\(a.0)) OR (\(b.0))", a.1 + b.1)
        }
        switch date.prefix {
        case .eq: return contained
        case .gt: return after
        case .lt: return before
        case .ge: return either(after, contained)
        case .le: return either(before, contained)
        }
    }
}
