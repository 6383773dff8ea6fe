import CSQLite
import ExportDomain

/// A stored resource's JSON read piece by piece (SQLite's incremental blob I/O, PostgreSQL's
/// `substring` of an uncompressed `bytea`), so a Group of any size costs one window of memory,
/// not its size. Reads go through a window that moves forward as a scan does. Valid while the
/// read transaction it was opened in lasts.
public final class ResourceBlob: ByteSource {
    public let count: Int
    public let lastUpdated: FHIRInstant
    private let reader: any BlobReader
    @usableFromInline var window: [UInt8] = []
    @usableFromInline var windowStart = 0
    private let windowSize: Int
    /// The first read error; the bytes read after it are zeros (which no scan accepts).
    public private(set) var failure: StorageError?

    init(reader: any BlobReader, lastUpdated: FHIRInstant, windowSize: Int) {
        self.reader = reader
        self.lastUpdated = lastUpdated
        self.windowSize = windowSize
        count = reader.count
    }

    @inlinable
    public func byte(at index: Int) -> UInt8 {
        let offset = index &- windowStart
        if offset >= 0 && offset < window.count { return window[offset] }
        return refill(at: index)
    }

    public func bytes(_ range: Range<Int>) -> [UInt8] {
        let offset = range.lowerBound - windowStart
        if offset >= 0 && offset + range.count <= window.count {
            return Array(window[offset..<offset + range.count])
        }
        if range.count <= windowSize {
            _ = refill(at: range.lowerBound)
            return Array(window[0..<range.count])
        }
        return read(range)
    }

    /// Calls `body` with the bytes of `range` in window-sized pieces.
    public func forEachPiece(of range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + windowSize, range.upperBound)
            if start < windowStart || end > windowStart + window.count { _ = refill(at: start) }
            try window[(start - windowStart)..<(end - windowStart)].withUnsafeBytes(body)
            start = end
        }
    }

    @usableFromInline
    func refill(at index: Int) -> UInt8 {
        let length = min(windowSize, count - index)
        window = read(index..<index + length)
        windowStart = index
        return window.first ?? 0
    }

    private func read(_ range: Range<Int>) -> [UInt8] {
        guard failure == nil, !range.isEmpty else { return [UInt8](repeating: 0, count: range.count) }
        do {
            let bytes = try reader.read(range)
            guard bytes.count == range.count else {
                throw StorageError(sqlState: nil, message: "reading a stored resource: \(bytes.count) bytes where \(range.count) were expected")
            }
            return bytes
        } catch {
            failure = error as? StorageError ?? StorageError(sqlState: nil, message: "reading a stored resource: \(error)")
            return [UInt8](repeating: 0, count: range.count)
        }
    }
}

/// Where a `ResourceBlob` reads its bytes.
protocol BlobReader: AnyObject {
    var count: Int { get }
    func read(_ range: Range<Int>) throws -> [UInt8]
}

/// SQLite's incremental blob I/O on one row's `json`.
final class SQLiteBlobReader: BlobReader {
    private let handle: OpaquePointer
    let count: Int

    init(_ connection: SQLiteConnection, table: String, key: ResourceKey, version: Int) throws {
        let rowid = try connection.query(
            "SELECT rowid FROM \(table) WHERE type = ? AND id = ? AND version_id = ?", [.type(key.type), .text(key.id), .int(version)]
        ) { $0.integer(0) }.first ?? 0
        var blob: OpaquePointer?
        let rc = sqlite3_blob_open(connection.handle, "main", table, "json", rowid, 0, &blob)
        guard rc == SQLITE_OK, let blob else {
            sqlite3_blob_close(blob)
            throw StorageError(code: rc, message: "cannot read \(key): \(String(cString: sqlite3_errmsg(connection.handle)))")
        }
        handle = blob
        count = Int(sqlite3_blob_bytes(blob))
    }

    deinit {
        sqlite3_blob_close(handle)
    }

    func read(_ range: Range<Int>) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: range.count)
        let rc = bytes.withUnsafeMutableBytes {
            sqlite3_blob_read(handle, $0.baseAddress, Int32(range.count), Int32(range.lowerBound))
        }
        guard rc == SQLITE_OK else {
            throw StorageError(code: rc, message: "reading a stored resource: \(String(cString: sqlite3_errstr(rc)))")
        }
        return bytes
    }
}

/// Slices of one row's `json` read with `substring` (PostgreSQL: the column is stored
/// uncompressed, so a slice reads only its own pages).
final class SQLSliceReader: BlobReader {
    private let connection: any SQLConnection
    private let table: String
    private let parameters: [SQLValue]
    let count: Int

    init(_ connection: any SQLConnection, table: String, key: ResourceKey, version: Int) throws {
        self.connection = connection
        self.table = table
        parameters = [.type(key.type), .text(key.id), .int(version)]
        count = Int(try connection.query(
            "SELECT octet_length(json) FROM \(table) WHERE type = ? AND id = ? AND version_id = ?", parameters
        ) { $0.integer(0) }.first ?? 0)
    }

    func read(_ range: Range<Int>) throws -> [UInt8] {
        try connection.query(
            "SELECT substring(json FROM CAST(? AS INTEGER) FOR CAST(? AS INTEGER)) FROM \(table) WHERE type = ? AND id = ? AND version_id = ?",
            [.int(range.lowerBound + 1), .int(range.count)] + parameters
        ) { $0.blob(0) }.first ?? []
    }
}
