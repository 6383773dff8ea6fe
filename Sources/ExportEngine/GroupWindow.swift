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

    func bytes(_ range: Range<Int>) -> [UInt8] {
        let offset = range.lowerBound &- windowStart
        if offset >= 0 && offset + range.count <= window.count { return Array(window[offset..<offset + range.count]) }
        return base.bytes(range)
    }

    func forEachPiece(of range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let offset = range.lowerBound &- windowStart
        if offset >= 0 && offset + range.count <= window.count {
            try window[offset..<offset + range.count].withUnsafeBytes(body)
        } else {
            try base.forEachPiece(of: range, body)
        }
    }

    /// Bytes kept before the one a refill is for: a scan that meets a quote at a window's start
    /// looks back for backslashes, which would otherwise read the whole window again.
    static let lookBehind = 64

    @inline(never)
    private func refill(at index: Int) -> UInt8 {
        guard index >= 0 && index < count else { return 0 }
        let start = max(0, index - Self.lookBehind)
        window = base.bytes(start..<min(start + Self.windowSize, count))
        windowStart = start
        return index - start < window.count ? window[index - start] : 0
    }
}
