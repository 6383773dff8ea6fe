import ExportDomain

/// The stored Group behind one concrete type. The engine is generic over its source, so scans
/// of `Source.Group` ran through unspecialised generic code, a witness call and a retain per
/// byte (two thirds of an export's time in the profile); over this final class the inlinable
/// scans of `ResourceScan` are specialised, and the source is asked once per window.
final class GroupWindow: GroupBytes {
    private let base: any GroupBytes
    let count: Int
    private var window: [UInt8] = []
    private var windowStart = 0
    static let windowSize = 1 << 20

    init(_ base: any GroupBytes) {
        self.base = base
        count = base.count
    }

    var lastUpdated: FHIRInstant { base.lastUpdated }
    var readFailure: Error? { base.readFailure }

    @inline(__always)
    func byte(at index: Int) -> UInt8 {
        let offset = index &- windowStart
        if offset >= 0 && offset < window.count { return window[offset] }
        return refill(at: index)
    }

    /// Within the window eight bytes at a time; windows are read on as the search goes.
    func firstQuote(from index: Int) -> Int? {
        var position = index
        while position < count {
            let offset = position &- windowStart
            guard offset >= 0 && offset < window.count else {
                _ = refill(at: position)
                if window.isEmpty { return nil }
                continue
            }
            if let found = window.withUnsafeBytes({ $0.firstQuote(from: offset) }) { return windowStart + found }
            position = windowStart + window.count
        }
        return nil
    }

    /// A range outside the window moves the window to it, as the scan that found the range goes
    /// on from its end: asked of the source instead, it cost a read of its own besides the
    /// scan's next window (on PostgreSQL each read is a statement).
    func bytes(_ range: Range<Int>) -> [UInt8] {
        var offset = range.lowerBound &- windowStart
        if offset >= 0 && offset + range.count <= window.count { return Array(window[offset..<offset + range.count]) }
        guard range.count <= Self.windowSize - Self.lookBehind else { return base.bytes(range) }
        _ = refill(at: range.lowerBound)
        offset = range.lowerBound - windowStart
        guard offset + range.count <= window.count else { return base.bytes(range) }
        return Array(window[offset..<offset + range.count])
    }

    /// Piece by piece through the window, which moves on as the range does.
    func forEachPiece(of range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var start = range.lowerBound
        while start < range.upperBound {
            var offset = start &- windowStart
            if offset < 0 || offset >= window.count {
                _ = refill(at: start)
                offset = start - windowStart
                guard offset >= 0 && offset < window.count else {
                    return try base.forEachPiece(of: start..<range.upperBound, body)
                }
            }
            let end = min(range.upperBound, windowStart + window.count)
            try window[offset..<(end - windowStart)].withUnsafeBytes(body)
            start = end
        }
    }

    /// Bytes kept before the one a refill is for. The member loop's scan finds an element's end
    /// before the element is copied, so an element across a window's edge is behind the scan's
    /// next window when it is asked for; keeping 64 KB behind (more than a member element
    /// takes) serves it from that window instead of a read of its own. A scan that meets a quote
    /// at a window's start also looks back for backslashes.
    static let lookBehind = 1 << 16

    @inline(never)
    private func refill(at index: Int) -> UInt8 {
        guard index >= 0 && index < count else { return 0 }
        let start = max(0, index - Self.lookBehind)
        window = base.bytes(start..<min(start + Self.windowSize, count))
        windowStart = start
        return index - start < window.count ? window[index - start] : 0
    }
}
