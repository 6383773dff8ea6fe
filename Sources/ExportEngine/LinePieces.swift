/// One output line assembled from ranges of a stored resource and a few literal bytes, so a
/// big resource can be written out with changes without ever being in memory whole.
struct LinePieces<Source: GroupBytes> {
    private enum Piece {
        case literal([UInt8])
        case stored(Range<Int>)
    }

    private let source: Source
    private var pieces: [Piece] = []
    /// The line's length in bytes.
    private(set) var count = 0

    init(_ source: Source) {
        self.source = source
    }

    mutating func literal(_ bytes: [UInt8]) {
        pieces.append(.literal(bytes))
        count += bytes.count
    }

    mutating func literal(_ text: StaticString) {
        literal(Array(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)))
    }

    mutating func stored(_ range: Range<Int>) {
        pieces.append(.stored(range))
        count += range.count
    }

    func forEach(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        for piece in pieces {
            switch piece {
            case .literal(let bytes): try bytes.withUnsafeBytes(body)
            case .stored(let range): try source.forEachPiece(of: range, body)
            }
        }
    }
}
