// JSONKeyMatcher.swift
//
// The redaction fast path: whether the raw bytes of a JSON document contain, as an object
// key (`"name"` followed by optional whitespace and `:`), one of a set of property names —
// without parsing the document. One pass over the bytes; string contents are skipped by
// their quotes and escapes, so a value that happens to read "valueMoney" never matches. Keys
// written with escapes (`"value\u004doney"`) are treated as a possible match (the caller then
// parses), as are unterminated strings.

struct JSONKeyMatcher: Sendable {
    /// The names, sorted (for tests and messages).
    let names: [String]
    /// Candidate names by UTF-8 length.
    private let byLength: [[[UInt8]]]
    /// Whether a name starts with this byte.
    private let firstBytes: [Bool]

    init<S: Sequence>(_ names: S) where S.Element == String {
        let unique = Set(names)
        self.names = unique.sorted()
        let maxLength = unique.map(\.utf8.count).max() ?? 0
        var byLength = [[[UInt8]]](repeating: [], count: maxLength + 1)
        var firstBytes = [Bool](repeating: false, count: 256)
        for name in unique {
            let bytes = Array(name.utf8)
            guard let first = bytes.first else { continue }
            byLength[bytes.count].append(bytes)
            firstBytes[Int(first)] = true
        }
        self.byLength = byLength
        self.firstBytes = firstBytes
    }

    /// Whether one of the names occurs as an object key in `bytes`.
    func occurs(in bytes: [UInt8]) -> Bool {
        if names.isEmpty { return false }
        return bytes.withUnsafeBufferPointer { occurs(in: $0) }
    }

    func occurs(in buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        if names.isEmpty { return false }
        let n = buffer.count
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":")
        var i = 0
        while i < n {
            if buffer[i] != quote {
                i += 1
                continue
            }
            let start = i + 1
            var j = start
            var escaped = false
            while j < n {
                let c = buffer[j]
                if c == quote { break }
                if c == backslash {
                    escaped = true
                    j += 2
                } else {
                    j += 1
                }
            }
            if j >= n { return true } // unterminated: let the parser decide
            var k = j + 1
            while k < n, buffer[k] == 0x20 || buffer[k] == 0x09 || buffer[k] == 0x0A || buffer[k] == 0x0D { k += 1 }
            if k < n && buffer[k] == colon {
                if escaped { return true }
                if matches(buffer, start, j) { return true }
            }
            i = j + 1
        }
        return false
    }

    @inline(__always)
    private func matches(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        let length = end - start
        guard length > 0, length < byLength.count, firstBytes[Int(buffer[start])] else { return false }
        candidates: for candidate in byLength[length] {
            for m in 0..<length where buffer[start + m] != candidate[m] { continue candidates }
            return true
        }
        return false
    }
}
