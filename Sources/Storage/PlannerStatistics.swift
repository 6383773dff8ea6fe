/// PostgreSQL plans each statement from its tables' statistics, which a bulk load leaves
/// missing or stale until autovacuum's next round (a minute or more later). Without them the
/// export's slice lookups walk the reference index's primary key instead of seeking its target
/// index: about 114 ms per slice instead of 2 at 10,000 members, five times the whole export.
/// SQLite plans without statistics here (no `ANALYZE` was ever run on it); nothing to do there.
extension Database {
    /// After writing many rows at once (`atrctl import`, `reindex`, `db migrate-to-postgres`):
    /// the application's own tables, not every schema and catalog of the database.
    public func refreshPlannerStatistics() throws {
        guard backend == .postgresql else { return }
        try connection.execute("ANALYZE " + CopiedTable.all.map(\.name).joined(separator: ", "))
    }
}
