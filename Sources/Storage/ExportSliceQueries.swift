import ExportDomain

/// The reads an export makes for a slice of members at once: one statement per kind of lookup
/// and slice rather than one per member, which on PostgreSQL is one round trip instead of
/// hundreds, and on SQLite saves the statement overhead that was a third of the export's time.
extension Database {
    /// Keys in one IN list at most; each list is padded to a power of two (repeating its last
    /// key) so a statement has a handful of shapes: SQLite caches, and PostgreSQL prepares, per text.
    static let inListLimit = 256

    /// Resources linked to each of `targets` as each of `links` says (one dictionary per link,
    /// in the order of `links`), in id order; a target with none is left out. The batch form of
    /// `referencing(_:_:)`: one index seek per target reads every reference to it, and the
    /// links' types and paths are picked out here, rather than a seek per target, type and path.
    public func referencing(_ targets: [ResourceKey], _ links: [MemberLink]) throws -> [[ResourceKey: [ResourceKey]]] {
        var result = [[ResourceKey: [ResourceKey]]](repeating: [:], count: links.count)
        guard !links.isEmpty else { return result }
        // Each row names the one link it belongs to (`CASE`), so links must not share a type and path.
        let pairs = links.flatMap { link in link.paths.map { "\(link.type.rawValue) \($0.rawValue)" } }
        guard Set(pairs).count == pairs.count else {
            return try links.map { try referencing(targets, [$0])[0] }
        }
        for (type, ids) in Self.idsByType(targets) {
            for chunk in Self.inListChunks(ids) {
                let statement = referencingStatement(links, targetType: type, ids: chunk)
                let rows = try connection.query(statement.sql, statement.values) {
                    $0.isNull(2) ? nil : (target: $0.text(0) ?? "", source: $0.text(1) ?? "", link: Int($0.integer(2)))
                }
                for case let row? in rows {
                    result[row.link][ResourceKey(type: type, id: row.target), default: []].append(ResourceKey(type: links[row.link].type, id: row.source))
                }
            }
        }
        // Bytewise, as the index orders ids (BINARY in SQLite, "C" in PostgreSQL); a source that
        // names the target by two paths (beneficiary and subscriber) once.
        for index in result.indices {
            for (target, sources) in result[index] where sources.count > 1 {
                var ordered = sources.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
                ordered.removeDuplicatesInPlace()
                result[index][target] = ordered
            }
        }
        return result
    }

    /// The statement that finds what links to `ids` of `targetType`: rows of target id, source id
    /// and the index of the link in `links` (NULL for a reference no link names).
    ///
    /// PostgreSQL seeks its index once per id only when told so: with `target_id IN (…)`, or the
    /// ids joined as a `VALUES` list, its generic plan for the prepared statement (which cannot
    /// know how many references the target type has) read every reference to the target type
    /// and picked the ids out: 10–20 ms a slice at 10,000 members, and more as the list grows.
    /// A `LATERAL` subquery per id, kept from being flattened into a join by `OFFSET 0`, is a
    /// nested loop of index seeks whatever the statistics: 2.2 ms.
    func referencingStatement(_ links: [MemberLink], targetType: ResourceType, ids: [String]) -> (sql: String, values: [SQLValue]) {
        let sourceTypes = Array(Set(links.map(\.type.rawValue))).sorted()
        let linkOfRow = links.enumerated().map { index, link in
            "WHEN source_type = ? AND path IN (\(Self.placeholders(link.paths.count))) THEN \(index)"
        }.joined(separator: " ")
        let linkValues = links.flatMap { link in [SQLValue.type(link.type)] + link.paths.map { .text($0.rawValue) } }
        let idValues = ids.map { SQLValue.text($0) }
        let typeValues = sourceTypes.map { SQLValue.text($0) }
        switch connection.dialect.backend {
        case .sqlite:
            let sql = """
                SELECT target_id, source_id, CASE \(linkOfRow) END FROM refs INDEXED BY refs_by_target
                WHERE target_type = ? AND target_id IN (\(Self.placeholders(ids.count))) AND source_type IN (\(Self.placeholders(sourceTypes.count)))
                """
            return (sql, linkValues + [.type(targetType)] + idValues + typeValues)
        case .postgresql:
            let wanted = Array(repeating: "(?)", count: ids.count).joined(separator: ", ")
            let sql = """
                SELECT wanted.column1, source_id, CASE \(linkOfRow) END
                FROM (SELECT DISTINCT column1 FROM (VALUES \(wanted)) AS ids) AS wanted
                CROSS JOIN LATERAL (
                    SELECT source_id, source_type, path FROM refs
                    WHERE target_type = ? AND target_id = wanted.column1 AND source_type IN (\(Self.placeholders(sourceTypes.count)))
                    OFFSET 0
                ) AS linked
                """
            return (sql, linkValues + idValues + [.type(targetType)] + typeValues)
        }
    }

    /// The current versions' `meta.lastUpdated`, JSON and mark by key; deleted or unknown keys are left out.
    public func currentResources(_ keys: [ResourceKey]) throws -> [ResourceKey: ExportRow] {
        var result: [ResourceKey: ExportRow] = [:]
        result.reserveCapacity(keys.count)
        let mark = connection.dialect.backend == .sqlite ? "rowid" : "ctid"
        for (type, ids) in Self.idsByType(keys) {
            for chunk in Self.inListChunks(ids) {
                let rows = try connection.query(
                    "SELECT \(mark), id, last_updated, json FROM resources WHERE type = ? AND id IN (\(Self.placeholders(chunk.count))) AND deleted = 0",
                    [.type(type)] + chunk.map { .text($0) }
                ) { (row: $0.integer(0), id: $0.text(1) ?? "", lastUpdated: $0.instant(2), json: $0.blob(3)) }
                for row in rows {
                    result[ResourceKey(type: type, id: row.id)] = ExportRow(lastUpdated: row.lastUpdated, json: row.json, mark: .row(row.row))
                }
            }
        }
        return result
    }

    /// Records that `marks` (which may repeat) are in this export; returns those that were not
    /// already (each resource once). Kept in a temporary table keyed by the mark rather than in
    /// memory, so memory stays flat in the export's size.
    public func markExported(_ marks: [ExportMark]) throws -> Set<ExportMark> {
        var inserted = Set<ExportMark>()
        for chunk in Self.inListChunks(marks) {
            let values = Array(repeating: "(?)", count: chunk.count).joined(separator: ", ")
            let new = try connection.query(
                "INSERT INTO \(temp).export_seen_rows (resource_row) VALUES \(values) ON CONFLICT DO NOTHING RETURNING resource_row",
                chunk.map { SQLValue.integer($0.row) }
            ) { ExportMark.row($0.integer(0)) }
            inserted.formUnion(new)
        }
        return inserted
    }

    /// Ids per type, types in order of first appearance; an id may repeat (an IN list does not mind).
    static func idsByType(_ keys: [ResourceKey]) -> [(ResourceType, [String])] {
        var order: [ResourceType] = []
        var ids: [ResourceType: [String]] = [:]
        for key in keys {
            if ids[key.type] == nil { order.append(key.type) }
            ids[key.type, default: []].append(key.id)
        }
        return order.map { ($0, ids[$0] ?? []) }
    }

    /// `values` in chunks of at most `inListLimit`, each padded with its last value to a power of two.
    static func inListChunks<Value>(_ values: [Value]) -> [[Value]] {
        stride(from: 0, to: values.count, by: inListLimit).map { start in
            var chunk = Array(values[start..<min(start + inListLimit, values.count)])
            var size = 1
            while size < chunk.count { size *= 2 }
            chunk += Array(repeating: chunk[chunk.count - 1], count: size - chunk.count)
            return chunk
        }
    }

    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}

extension Array where Element: Equatable {
    /// Removes each element equal to the one before it (a sorted array's duplicates).
    mutating func removeDuplicatesInPlace() {
        var kept = 0
        for index in indices where kept == 0 || self[index] != self[kept - 1] {
            self[kept] = self[index]
            kept += 1
        }
        removeLast(count - kept)
    }
}
