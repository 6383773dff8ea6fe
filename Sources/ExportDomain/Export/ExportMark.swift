/// How "each resource once" names a resource within one export: a number that stays put while
/// the export's snapshot lasts — on SQLite the row's rowid, on PostgreSQL its tuple's `ctid`
/// (block and line; the snapshot's version of a row keeps it, as no vacuum removes a version a
/// snapshot still sees and none that moves rows runs while the export holds its table lock). An
/// 8-byte integer key is a third of a temporary B-tree of type-and-id text, and compares as one
/// number: the text marks were a quarter of the export thread's time on SQLite, and the
/// costliest statement of the export on PostgreSQL.
public struct ExportMark: Hashable, Sendable {
    public var row: Int64

    public static func row(_ row: Int64) -> ExportMark { ExportMark(row: row) }
}

/// A current resource as the export reads it, with the mark that records it as exported.
public struct ExportRow: Sendable {
    public var lastUpdated: FHIRInstant
    public var json: [UInt8]
    public var mark: ExportMark

    public init(lastUpdated: FHIRInstant, json: [UInt8], mark: ExportMark) {
        self.lastUpdated = lastUpdated
        self.json = json
        self.mark = mark
    }
}
