import ExportDomain

/// What a kick-off needs to know of a Group without loading it (a list of a million members is
/// a resource of hundreds of megabytes).
extension Database {
    /// Whether `Group/{id}` exists and is not deleted.
    public func groupExists(_ groupId: String) throws -> Bool {
        try connection.query(
            "SELECT 1 FROM resources WHERE type = 'Group' AND id = ? AND deleted = 0", [.text(groupId)]
        ) { _ in true }.first ?? false
    }

    /// The Group's number of members as indexed when it was written; nil for a Group written
    /// before the count was indexed (until `atrctl reindex`).
    public func indexedMemberCount(_ groupId: String) throws -> Int? {
        try connection.query(
            "SELECT value FROM search_values WHERE type = 'Group' AND id = ? AND parameter = ?",
            [.text(groupId), .text(GroupSearchIndexing.memberCountParameter)]
        ) { Int($0.text(0) ?? "") }.first ?? nil
    }
}
