/// How "each resource once" names a resource within one export. SQLite's resources have a rowid
/// that stays put while the export's snapshot lasts: an 8-byte integer key is a third of the
/// temporary table's B-tree of type-and-id text, and compares as one number (the text marks
/// were a quarter of the export thread's time). PostgreSQL's rows have no such number, so
/// there a resource is named by its type and id. A source names each resource one way.
public enum ExportMark: Hashable, Sendable {
    case row(Int64)
    case key(ResourceKey)
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
