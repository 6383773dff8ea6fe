/// The bytes libFuzzer hands a target, and the fields a parser with several arguments takes.
public struct FuzzInput {
    public let bytes: [UInt8]

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    }

    /// The input as text; invalid UTF-8 is repaired, as it is before any parser that takes a `String`.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// `count` newline-separated fields; the last keeps the rest (a body may hold newlines) and
    /// missing ones are empty, so every input reaches the parser. Seeds stay readable text files.
    public func fields(_ count: Int) -> [[UInt8]] {
        var fields = bytes.split(separator: UInt8(ascii: "\n"), maxSplits: count - 1, omittingEmptySubsequences: false)
            .map { Array($0) }
        fields += Array(repeating: [], count: count - fields.count)
        return fields
    }

    public func textFields(_ count: Int) -> [String] {
        fields(count).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension FuzzInput {
    /// The first line as text (an operation, a media type, an expression) and the body after it.
    public var lineAndBody: (line: String, body: [UInt8]) {
        let fields = fields(2)
        return (String(decoding: fields[0], as: UTF8.self), fields[1])
    }
}
