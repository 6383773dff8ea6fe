// JSONSerializer.swift
//
// Compact JSON output: no whitespace, object keys in stored order, number literals verbatim,
// strings minimally escaped ('"', '\' and control characters < 0x20; everything else,
// including '/' and non-ASCII, is written as raw UTF-8). Appends bytes to a [UInt8]; no
// Foundation.

extension JSONValue {
    /// The compact UTF-8 serialization.
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(_JSONSerializer.initialCapacity(for: self))
        serialize(into: &buffer)
        return buffer
    }

    /// Appends the compact UTF-8 serialization to `buffer` (useful for building NDJSON output
    /// in one reusable buffer).
    public func serialize(into buffer: inout [UInt8]) {
        _JSONSerializer.append(self, into: &buffer)
    }

    /// The compact serialization as a `String`.
    public var serializedString: String {
        String(decoding: serialized(), as: UTF8.self)
    }
}

extension JSONObject {
    /// The compact UTF-8 serialization of this object.
    public func serialized() -> [UInt8] {
        JSONValue.object(self).serialized()
    }

    /// Appends the compact UTF-8 serialization of this object to `buffer`.
    public func serialize(into buffer: inout [UInt8]) {
        _JSONSerializer.appendObject(self, into: &buffer)
    }
}

internal enum _JSONSerializer {
    /// A cheap guess for the output size, to avoid most early reallocations.
    static func initialCapacity(for value: JSONValue) -> Int {
        switch value {
        case .null, .bool: return 8
        case .number(let n): return n.utf8.count
        case .string(let s): return s.utf8.count + 2
        case .array(let a): return Swift.max(64, a.count * 32)
        case .object(let o): return Swift.max(64, o.count * 48)
        }
    }

    static func append(_ value: JSONValue, into buffer: inout [UInt8]) {
        switch value {
        case .null:
            appendASCII("null", into: &buffer)
        case .bool(let b):
            appendASCII(b ? "true" : "false", into: &buffer)
        case .number(let literal):
            appendRaw(literal, into: &buffer)
        case .string(let s):
            appendString(s, into: &buffer)
        case .array(let elements):
            buffer.append(._openBracket)
            var first = true
            for element in elements {
                if first {
                    first = false
                } else {
                    buffer.append(._comma)
                }
                append(element, into: &buffer)
            }
            buffer.append(._closeBracket)
        case .object(let object):
            appendObject(object, into: &buffer)
        }
    }

    static func appendObject(_ object: JSONObject, into buffer: inout [UInt8]) {
        buffer.append(._openBrace)
        var first = true
        for entry in object._entries {
            if first {
                first = false
            } else {
                buffer.append(._comma)
            }
            appendString(entry.key, into: &buffer)
            buffer.append(._colon)
            append(entry.value, into: &buffer)
        }
        buffer.append(._closeBrace)
    }

    @inline(__always)
    static func appendASCII(_ text: StaticString, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    static func appendRaw(_ text: String, into buffer: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ buffer.append(contentsOf: $0) }) == nil {
            var text = text
            text.withUTF8 { buffer.append(contentsOf: $0) }
        }
    }

    /// Appends `s` as a quoted JSON string with minimal escaping.
    static func appendString(_ s: String, into buffer: inout [UInt8]) {
        if s.utf8.withContiguousStorageIfAvailable({ appendString(utf8: $0, into: &buffer) }) == nil {
            var s = s
            s.withUTF8 { appendString(utf8: $0, into: &buffer) }
        }
    }

    static func appendString(utf8 src: UnsafeBufferPointer<UInt8>, into buffer: inout [UInt8]) {
        do {
            buffer.append(._quote)
            var runStart = 0
            var k = 0
            let n = src.count
            if let base = src.baseAddress {
                // Skip 8 bytes at a time while no byte needs escaping.
                while n - k >= 8 && !_swarNeedsEscape(UnsafeRawPointer(base + k).loadUnaligned(as: UInt64.self)) {
                    k += 8
                }
            }
            while k < n {
                let c = src[k]
                if c >= 0x20 && c != ._quote && c != ._backslash {
                    k += 1
                    continue
                }
                if runStart < k {
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: src[runStart..<k]))
                }
                buffer.append(._backslash)
                switch c {
                case ._quote: buffer.append(._quote)
                case ._backslash: buffer.append(._backslash)
                case 0x08: buffer.append(UInt8(ascii: "b"))
                case 0x0C: buffer.append(UInt8(ascii: "f"))
                case 0x0A: buffer.append(UInt8(ascii: "n"))
                case 0x0D: buffer.append(UInt8(ascii: "r"))
                case 0x09: buffer.append(UInt8(ascii: "t"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    let p = hex.utf8Start
                    buffer.append(UInt8(ascii: "u"))
                    buffer.append(._zero)
                    buffer.append(._zero)
                    buffer.append(p[Int(c >> 4)])
                    buffer.append(p[Int(c & 0x0F)])
                }
                k += 1
                runStart = k
            }
            if runStart < n {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: src[runStart..<n]))
            }
            buffer.append(._quote)
        }
    }
}

// MARK: - SWAR helpers (8 bytes at a time)

internal let _swarOnes: UInt64 = 0x0101_0101_0101_0101
internal let _swarHigh: UInt64 = 0x8080_8080_8080_8080

/// Whether any byte of `w` is zero.
@inline(__always)
internal func _swarHasZeroByte(_ w: UInt64) -> Bool {
    ((w &- _swarOnes) & ~w & _swarHigh) != 0
}

/// Whether any byte of `w` is < 0x20, '"' or '\\' (i.e. must be escaped in a JSON string).
@inline(__always)
internal func _swarNeedsEscape(_ w: UInt64) -> Bool {
    let control = (w &- 0x2020_2020_2020_2020) & ~w & _swarHigh
    return control != 0
        || _swarHasZeroByte(w ^ 0x2222_2222_2222_2222)
        || _swarHasZeroByte(w ^ 0x5C5C_5C5C_5C5C_5C5C)
}

/// Whether any byte of `w` ends the parser's ASCII fast path: < 0x20, '"', '\\' or >= 0x80.
@inline(__always)
internal func _swarStopsFastStringScan(_ w: UInt64) -> Bool {
    (w & _swarHigh) != 0 || _swarNeedsEscape(w)
}
