import ExportDomain

/// What the export engine reads, all from one consistent snapshot: resources by key, the
/// resources linked to a member, the Group piece by piece, and the "already exported" set.
/// atr-scheduler reads SQLite through it; the engine's unit tests read memory.
public protocol ExportSource {
    associatedtype Group: GroupBytes
    /// The current version of the Group for reading piece by piece; nil when deleted or unknown.
    func group(_ key: ResourceKey) throws -> Group?
    // Lookups take many keys at once (a key may repeat): the engine asks for a slice of members together.

    /// The current versions' `meta.lastUpdated`, JSON and mark by key; deleted or unknown keys are left out.
    func currentResources(_ keys: [ResourceKey]) throws -> [ResourceKey: ExportRow]
    /// Resources linked to each of `targets` as each of `links` says (one dictionary per link, in
    /// the order of `links`), in id order; a target with none is left out.
    func referencing(_ targets: [ResourceKey], _ links: [MemberLink]) throws -> [[ResourceKey: [ResourceKey]]]
    /// Records that `marks` (from `currentResources`) are in this export; returns those that were
    /// not already (each resource once).
    func markExported(_ marks: [ExportMark]) throws -> Set<ExportMark>

    // `_since` member changes: the Group as it stood then, and who was a member then and now
    // (kept by the source, so memory does not grow with the list).

    /// The Group as it stood at `instant`: its version written last before it (one written at
    /// `instant` itself is a change since, `_since` being inclusive), piece by piece; nil when
    /// the Group did not exist then, was deleted then, or that version is no longer kept.
    func group(_ key: ResourceKey, at instant: FHIRInstant) throws -> Group?
    /// Remembers members of the Group as it stood at `_since` (`earlier`) or as it stands now.
    func noteMembers(_ patients: [ResourceKey], earlier: Bool) throws
    /// The ids among `patients` that `noteMembers(_:earlier: true)` remembered.
    func earlierMemberIds(among patients: [ResourceKey]) throws -> Set<String>
    func notedMember(_ patient: ResourceKey) throws -> (earlier: Bool, current: Bool)
    /// Members of the earlier Group not listed now, in id order.
    func forEachDepartedMember(_ body: (ResourceKey) throws -> Void) throws
    /// Resources of `types` deleted at or after `since` (their current version is a deletion),
    /// with the JSON of the version before the deletion (nil when it is no longer kept).
    func forEachDeletion(since: FHIRInstant, types: [ResourceType], _ body: (ResourceKey, [UInt8]?) throws -> Void) throws
}

/// A stored Group's bytes, read front to back in windows: an ATR list can be hundreds of MB.
public protocol GroupBytes: ByteSource {
    var lastUpdated: FHIRInstant { get }
    /// The first read error; bytes read after it are zeros, which no scan accepts.
    var readFailure: Error? { get }
    /// Calls `body` with the bytes of `range` in window-sized pieces.
    func forEachPiece(of range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows
}

/// Where the export's files go: a directory of NDJSON files in production.
public protocol ExportFiles {
    associatedtype File: ExportFile
    /// A new, empty file; it must not exist yet.
    func create(_ name: String) throws -> File
}

public protocol ExportFile: AnyObject {
    /// Bytes appended so far.
    var size: Int { get }
    func append(_ bytes: UnsafeRawBufferPointer) throws
    /// Makes the file durable (fsync) and closes it.
    func close() throws
}

/// A failure that ends the task as Failed, for the reason its client reads.
public struct ExportFailure: Error, CustomStringConvertible {
    public var reason: ExportFailureReason
    public var description: String { reason.diagnostics }
}

/// The lease was lost (cancelled, or taken over after a stall): stop without a trace.
public struct ExportAbandoned: Error {
    public init() {}
}
