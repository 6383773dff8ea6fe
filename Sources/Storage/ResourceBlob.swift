import CSQLite
import ExportDomain

/// A stored resource's JSON read piece by piece through SQLite's incremental blob I/O, so a
/// Group of any size costs one window of memory, not its size. Reads go through a window that
/// moves forward as a scan does. Valid while the read transaction it was opened in lasts.
public final class ResourceBlob: ByteSource {
    public let count: Int
    public let lastUpdated: FHIRInstant
    private let handle: OpaquePointer
    @usableFromInline var window: [UInt8] = []
    @usableFromInline var windowStart = 0
    private let windowSize: Int
    /// The first read error; the bytes read after it are zeros (which no scan accepts).
    public private(set) var failure: StorageError?

    init(handle: OpaquePointer, lastUpdated: FHIRInstant, windowSize: Int) {
        self.handle = handle
        self.lastUpdated = lastUpdated
        self.windowSize = windowSize
        count = Int(sqlite3_blob_bytes(handle))
    }

    deinit {
        sqlite3_blob_close(handle)
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
        var bytes = [UInt8](repeating: 0, count: range.count)
        guard failure == nil, !range.isEmpty else { return bytes }
        let rc = bytes.withUnsafeMutableBytes {
            sqlite3_blob_read(handle, $0.baseAddress, Int32(range.count), Int32(range.lowerBound))
        }
        if rc != SQLITE_OK {
            failure = StorageError(code: rc, message: "reading a stored resource: \(String(cString: sqlite3_errstr(rc)))")
            return [UInt8](repeating: 0, count: range.count)
        }
        return bytes
    }
}
