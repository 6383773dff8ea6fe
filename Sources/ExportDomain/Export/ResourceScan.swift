/// Walks a stored resource's JSON without building it in memory: its top-level properties
/// with their values' byte ranges, and an array's elements one at a time. An ATR list of a
/// million members is one ~270 MB Group; parsing it whole would make the scheduler's memory
/// grow with the list, and parsing every Patient whole just to read two references costs time.
/// Expects JSON this server wrote (valid, compact); on anything else it reports `nil`.
public struct ResourceScan: Sendable {
    public struct Property: Sendable, Equatable {
        public var key: String
        public var value: Range<Int>
    }

    /// The top-level properties in order, each with its value's byte range.
    public let properties: [Property]

    public init?(_ bytes: UnsafeRawBufferPointer) {
        var scanner = Scanner(bytes: bytes)
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
            guard let keyRange = scanner.stringRange(), let key = Self.key(bytes[keyRange]) else { return nil }
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            let valueStart = scanner.position
            guard scanner.skipValue() else { return nil }
            properties.append(Property(key: key, value: valueStart..<scanner.position))
        }
        self.properties = properties
    }

    /// A property name from its quoted token; escaped names (never FHIR's) take the full parser.
    private static func key(_ token: Slice<UnsafeRawBufferPointer>) -> String? {
        let inner = token.dropFirst().dropLast()
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        guard case .string(let key)? = try? JSONParser.parse(Array(token)) else { return nil }
        return key
    }

    public func value(_ key: String) -> Range<Int>? {
        properties.first { $0.key == key }?.value
    }

    /// Calls `body` with each element's byte range, in order. Returns false on malformed input.
    public static func forEachElement(in bytes: UnsafeRawBufferPointer, array: Range<Int>,
                                      _ body: (Range<Int>) throws -> Void) rethrows -> Bool {
        var scanner = Scanner(bytes: bytes, position: array.lowerBound)
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

    struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var position: Int

        init(bytes: UnsafeRawBufferPointer, position: Int = 0) {
            self.bytes = bytes
            self.position = position
        }

        func byte(at index: Int) -> UInt8? {
            index < bytes.count ? bytes[index] : nil
        }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        /// A string token including its quotes.
        mutating func stringRange() -> Range<Int>? {
            let start = position
            guard consume(UInt8(ascii: "\"")) else { return nil }
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "\\"): position += 2
                case UInt8(ascii: "\""):
                    position += 1
                    return start..<position
                default: position += 1
                }
            }
            return nil
        }

        /// Skips one value: a string, or a nested structure by depth, or a scalar.
        mutating func skipValue() -> Bool {
            guard let first = byte(at: position) else { return false }
            switch first {
            case UInt8(ascii: "\""):
                return stringRange() != nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while position < bytes.count {
                    switch bytes[position] {
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
                while position < bytes.count,
                      ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) {
                    position += 1
                }
                return true
            }
        }
    }
}
