/// What the paged searches (`GET AuditEvent`, `GET Group`) share: the `_count` page size and
/// the `next` link, which repeats the query with the `_cursor` to continue after.
public enum SearchPaging {
    public static let maximumCount = 1000

    /// A `_count` value: a whole number from 1 to `maximumCount`.
    public static func count(_ value: String) throws(FHIRError) -> Int {
        guard let count = Int(value), (1...maximumCount).contains(count) else {
            throw FHIRError.badRequest(.value, "_count must be a whole number from 1 to \(maximumCount), not '\(value)'")
        }
        return count
    }

    /// The query string of the page after `cursor`, keeping every other parameter.
    public static func nextPage(_ items: [(name: String, value: String)], cursor: String) -> [(name: String, value: String)] {
        items.filter { $0.name != "_cursor" } + [("_cursor", cursor)]
    }
}
