/// How deep and how big a JSON request body may be (`RequestJsonLimits`). Checked on the raw
/// bytes before anything is parsed, so a hostile body costs one linear pass and no memory: the
/// parsed tree of a body is many times its size, and `RequestBodyLimit` alone bounds bytes,
/// not values.
public struct JSONBodyLimits: Sendable, Equatable {
    /// Most nested objects and arrays.
    public var maxDepth: Int
    /// Most values (objects, arrays, strings, numbers, literals; member names not counted).
    public var maxElements: Int

    public init(maxDepth: Int, maxElements: Int) {
        self.maxDepth = maxDepth
        self.maxElements = maxElements
    }

    /// Throws a 413 OperationOutcome naming the limit when the body exceeds one. Bodies that
    /// do not start like JSON (forms, blank) pass: they are someone else's to refuse. Invalid
    /// JSON is not diagnosed here either; the parser does that with its own message.
    public func check(_ body: [UInt8]) throws(FHIRError) {
        guard let first = body.first(where: { !Self.isWhitespace($0) }), first == .openBrace || first == .openBracket else { return }
        var containers: [UInt8] = []
        var elements = 0
        var previous: UInt8 = 0
        var inString = false
        var escaped = false
        for byte in body {
            if inString {
                if escaped { escaped = false } else if byte == .backslash { escaped = true } else if byte == .quote { inString = false }
                continue
            }
            switch byte {
            case .openBrace, .openBracket:
                elements += 1
                containers.append(byte)
                guard containers.count <= maxDepth else {
                    throw Self.exceeded("nests objects and arrays deeper than \(maxDepth) levels", key: "MaxDepth")
                }
                previous = byte
            case .closeBrace, .closeBracket:
                _ = containers.popLast()
                previous = .valueEnd
            case .comma, .colon:
                previous = byte
            case .quote:
                inString = true
                let isMemberName = containers.last == .openBrace && (previous == .openBrace || previous == .comma)
                if !isMemberName { elements += 1 }
                previous = .valueEnd
            case let other where Self.isWhitespace(other):
                continue
            default:
                // The first byte of a number or literal; its other bytes follow `valueEnd`.
                if previous != .valueEnd { elements += 1 }
                previous = .valueEnd
            }
            guard elements <= maxElements else {
                throw Self.exceeded("has more than \(maxElements) values", key: "MaxElements")
            }
        }
    }

    static func exceeded(_ what: String, key: String) -> FHIRError {
        FHIRError(status: 413, code: .tooCostly, "The JSON body \(what) (RequestJsonLimits.\(key))")
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

private extension UInt8 {
    static var openBrace: UInt8 { 0x7B }
    static var closeBrace: UInt8 { 0x7D }
    static var openBracket: UInt8 { 0x5B }
    static var closeBracket: UInt8 { 0x5D }
    static var quote: UInt8 { 0x22 }
    static var backslash: UInt8 { 0x5C }
    static var comma: UInt8 { 0x2C }
    static var colon: UInt8 { 0x3A }
    /// Not a JSON byte outside strings: marks "a value just ended" in `previous`.
    static var valueEnd: UInt8 { 0xFF }
}
