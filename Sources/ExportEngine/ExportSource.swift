import ExportDomain

/// What the export engine reads, all from one consistent snapshot: resources by key, the
/// resources linked to a member, the Group piece by piece, and the "already exported" set.
/// atr-scheduler reads SQLite through it; the engine's unit tests read memory.
public protocol ExportSource {
    associatedtype Group: GroupBytes
    /// The current version of the Group for reading piece by piece; nil when deleted or unknown.
    func group(_ key: ResourceKey) throws -> Group?
    /// The current version's `meta.lastUpdated` and JSON; nil when deleted or unknown.
    func currentResource(_ key: ResourceKey) throws -> (lastUpdated: FHIRInstant, json: [UInt8])?
    /// Resources linked to `target` as `link` says, in id order.
    func referencing(_ target: ResourceKey, _ link: MemberLink) throws -> [ResourceKey]
    /// Records that a resource is in this export; false when it already was (each resource once).
    func markExported(_ key: ResourceKey) throws -> Bool
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
