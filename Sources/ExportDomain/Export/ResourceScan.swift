/// Bytes a `ResourceScan` reads: a buffer in memory, or a stored resource read piece by piece
/// (an ATR list of a million members is one ~270 MB Group; it should not have to be in memory).
public protocol ByteSource {
    var count: Int { get }
    /// The byte at `index`, `0 ≤ index < count`. Reads go mostly front to back.
    func byte(at index: Int) -> UInt8
    /// A copy of the bytes in `range`.
    func bytes(_ range: Range<Int>) -> [UInt8]
    /// The index of the first `"` at or after `index`, or nil: where a scan spends most of its
    /// time (strings are most of a resource's bytes), so sources in memory look eight bytes at once.
    func firstQuote(from index: Int) -> Int?
}

extension ByteSource {
    @inlinable
    public func firstQuote(from index: Int) -> Int? {
        var position = index
        while position < count {
            if byte(at: position) == UInt8(ascii: "\"") { return position }
            position += 1
        }
        return nil
    }
}

extension UnsafeRawBufferPointer: ByteSource {
    @inlinable public func byte(at index: Int) -> UInt8 { self[index] }
    @inlinable public func bytes(_ range: Range<Int>) -> [UInt8] { Array(self[range]) }

    /// Eight bytes at a time: a byte of the word equals `"` when that byte of `word ^ 0x22…` is
    /// zero, and the lowest byte flagged by the zero-byte test is exactly the first such byte.
    @inlinable
    public func firstQuote(from index: Int) -> Int? {
        var position = Swift.max(index, 0)
        #if _endian(little)
        let quotes: UInt64 = 0x2222_2222_2222_2222
        while position + 8 <= count {
            let word = loadUnaligned(fromByteOffset: position, as: UInt64.self) ^ quotes
            let zero = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if zero != 0 { return position + zero.trailingZeroBitCount / 8 }
            position += 8
        }
        #endif
        while position < count {
            if self[position] == UInt8(ascii: "\"") { return position }
            position += 1
        }
        return nil
    }
}

extension UnsafeRawBufferPointer {
    /// Whether both hold the same bytes, compared eight at a time (the generic `elementsEqual`
    /// goes through an iterator per byte).
    @inlinable
    public func sameBytes(as other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        var position = 0
        while position + 8 <= count {
            if loadUnaligned(fromByteOffset: position, as: UInt64.self) != other.loadUnaligned(fromByteOffset: position, as: UInt64.self) {
                return false
            }
            position += 8
        }
        while position < count {
            if self[position] != other[position] { return false }
            position += 1
        }
        return true
    }
}

extension Array: ByteSource where Element == UInt8 {
    @inlinable public func byte(at index: Int) -> UInt8 { self[index] }
    @inlinable public func bytes(_ range: Range<Int>) -> [UInt8] { Array(self[range]) }
    @inlinable public func firstQuote(from index: Int) -> Int? { withUnsafeBytes { $0.firstQuote(from: index) } }
}

/// Walks a stored resource's JSON without building it in memory: its top-level properties
/// with their values' byte ranges, and an array's elements one at a time. Parsing a big Group
/// whole would make the scheduler's memory grow with the list, and parsing every Patient
/// whole just to read two references costs time.
/// Expects JSON this server wrote (valid, compact); on anything else it reports `nil`.
public struct ResourceScan: Sendable {
    public struct Property: Sendable, Equatable {
        public var key: String
        public var value: Range<Int>

        @inlinable public init(key: String, value: Range<Int>) {
            self.key = key
            self.value = value
        }
    }

    /// The top-level properties in order, each with its value's byte range.
    public let properties: [Property]
    /// The elements of the first array named by `countingElementsOf`, counted on the way
    /// (a Group's members, without a pass over the list of its own); nil without one.
    public let countedElements: Int?

    @inlinable
    public init?<Source: ByteSource>(_ source: Source, countingElementsOf counted: String? = nil) {
        var countedElements: Int?
        var scanner = Scanner(source)
        scanner.skipWhitespace()
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        var properties: [Property] = []
        while true {
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: "}")) { break }
            if !properties.isEmpty {
                guard scanner.consume(UInt8(ascii: ",")) else { return nil }
                scanner.skipWhitespace()
            }
            guard let keyRange = scanner.stringRange(), let key = Self.key(source.bytes(keyRange)) else { return nil }
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            let valueStart = scanner.position
            if countedElements == nil, let counted, key == counted, source.byte(at: valueStart) == UInt8(ascii: "[") {
                guard let elements = scanner.skipArrayCountingElements() else { return nil }
                countedElements = elements
            } else {
                guard scanner.skipValue() else { return nil }
            }
            properties.append(Property(key: key, value: valueStart..<scanner.position))
        }
        self.properties = properties
        self.countedElements = countedElements
    }

    /// A property name from its quoted token; escaped names (never FHIR's) take the full parser.
    @usableFromInline
    static func key(_ token: [UInt8]) -> String? {
        let inner = token.dropFirst().dropLast()
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        guard case .string(let key)? = try? JSONParser.parse(token) else { return nil }
        return key
    }

    public func value(_ key: String) -> Range<Int>? {
        properties.first { $0.key == key }?.value
    }

    /// The value ranges of the top-level properties named `names` (UTF-8, first occurrence each),
    /// in the order of `names`, without building the property list: no allocation per property.
    /// Nil on malformed input or an escaped property name (the full scan reads those).
    @inlinable
    public static func values<Source: ByteSource>(of names: [[UInt8]], in source: Source) -> [Range<Int>?]? {
        var found = [Range<Int>?](repeating: nil, count: names.count)
        var scanner = Scanner(source)
        scanner.skipWhitespace()
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        var first = true
        while true {
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: "}")) { return found }
            if !first {
                guard scanner.consume(UInt8(ascii: ",")) else { return nil }
                scanner.skipWhitespace()
            }
            first = false
            guard let key = scanner.stringRange() else { return nil }
            let name = (key.lowerBound + 1)..<(key.upperBound - 1)
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            let valueStart = scanner.position
            guard scanner.skipValue() else { return nil }
            for position in name where source.byte(at: position) == UInt8(ascii: "\\") { return nil }
            for (index, wanted) in names.enumerated() where found[index] == nil && wanted.count == name.count {
                var equal = true
                for (offset, byte) in wanted.enumerated() where source.byte(at: name.lowerBound + offset) != byte {
                    equal = false
                    break
                }
                if equal { found[index] = valueStart..<scanner.position }
            }
        }
    }

    /// Calls `body` with each element's byte range, in order. Returns false on malformed input.
    @inlinable
    public static func forEachElement<Source: ByteSource>(in source: Source, array: Range<Int>,
                                                          _ body: (Range<Int>) throws -> Void) rethrows -> Bool {
        var scanner = Scanner(source, position: array.lowerBound)
        guard scanner.consume(UInt8(ascii: "[")) else { return false }
        var first = true
        while scanner.position < array.upperBound {
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: "]")) { return true }
            if !first {
                guard scanner.consume(UInt8(ascii: ",")) else { return false }
                scanner.skipWhitespace()
            }
            let start = scanner.position
            guard scanner.skipValue() else { return false }
            try body(start..<scanner.position)
            first = false
        }
        return false
    }

    @usableFromInline
    struct Scanner<Source: ByteSource> {
        @usableFromInline let source: Source
        @usableFromInline let count: Int
        @usableFromInline var position: Int

        @inlinable
        init(_ source: Source, position: Int = 0) {
            self.source = source
            self.count = source.count
            self.position = position
        }

        @inlinable
        static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
        }

        @inlinable
        mutating func skipWhitespace() {
            while position < count, Self.isWhitespace(source.byte(at: position)) { position += 1 }
        }

        @inlinable
        mutating func consume(_ byte: UInt8) -> Bool {
            guard position < count, source.byte(at: position) == byte else { return false }
            position += 1
            return true
        }

        /// A string token including its quotes. A quote after an odd run of backslashes is escaped.
        @inlinable
        mutating func stringRange() -> Range<Int>? {
            let start = position
            guard consume(UInt8(ascii: "\"")) else { return nil }
            while position < count, let quote = source.firstQuote(from: position), quote < count {
                var backslashes = 0
                while quote - backslashes - 1 > start, source.byte(at: quote - backslashes - 1) == UInt8(ascii: "\\") { backslashes += 1 }
                position = quote + 1
                if backslashes % 2 == 0 { return start..<position }
            }
            position = count
            return nil
        }

        /// Skips an array element by element (as `forEachElement` reads it); returns how many.
        @inlinable
        mutating func skipArrayCountingElements() -> Int? {
            guard consume(UInt8(ascii: "[")) else { return nil }
            var elements = 0
            while true {
                skipWhitespace()
                if consume(UInt8(ascii: "]")) { return elements }
                if elements > 0 {
                    guard consume(UInt8(ascii: ",")) else { return nil }
                    skipWhitespace()
                }
                guard skipValue() else { return nil }
                elements += 1
            }
        }

        /// Skips one value: a string, or a nested structure by depth, or a scalar.
        @inlinable
        mutating func skipValue() -> Bool {
            guard position < count else { return false }
            switch source.byte(at: position) {
            case UInt8(ascii: "\""):
                return stringRange() != nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while position < count {
                    switch source.byte(at: position) {
                    case UInt8(ascii: "\""):
                        guard stringRange() != nil else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            position += 1
                            return true
                        }
                    default: break
                    }
                    position += 1
                }
                return false
            default:
                while position < count {
                    let byte = source.byte(at: position)
                    if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || Self.isWhitespace(byte) { break }
                    position += 1
                }
                return true
            }
        }
    }
}
