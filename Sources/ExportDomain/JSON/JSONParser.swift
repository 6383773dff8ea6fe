// JSONParser.swift
//
// Strict RFC 8259 JSON parser producing `JSONValue`.
//
//  * Exactly one value, optionally surrounded by JSON whitespace (space, tab, CR, LF).
//  * No comments, trailing commas, NaN/Infinity, leading zeros, leading '+'.
//  * Strings: no raw control characters, all escapes, surrogate pairs combined, unpaired
//    surrogate escapes rejected, UTF-8 fully validated (overlongs, encoded surrogates,
//    > U+10FFFF, truncated sequences).
//  * A leading UTF-8 byte order mark is rejected.
//  * Duplicate keys within one object are rejected (FHIR JSON forbids them).
//  * Nesting deeper than `JSONParser.maximumDepth` is rejected. The parser is iterative, so
//    hostile input can never exhaust the call stack.
//
// The parser reads directly from an `UnsafeBufferPointer<UInt8>` and builds strings from
// validated UTF-8 byte ranges; strings without escapes are created straight from the input.
// No Foundation.

public enum JSONParser {
    /// Maximum number of nested arrays/objects. A document with `maximumDepth` nested
    /// containers is accepted; one more level is rejected with a `JSONSyntaxError`.
    public static var maximumDepth: Int { 256 }

    /// Parses a complete JSON document from UTF-8 bytes.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { _parse($0) }.get()
    }

    /// Parses a complete JSON document from a slice of UTF-8 bytes (e.g. one NDJSON line).
    /// Error offsets are relative to the start of the slice.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { _parse($0) }.get()
    }

    /// Parses a complete JSON document from a buffer of UTF-8 bytes.
    /// Error offsets are relative to the start of the buffer.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        try _parse(buffer).get()
    }

    /// Parses a complete JSON document from raw bytes.
    public static func parse(_ buffer: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        try _parse(buffer.bindMemory(to: UInt8.self)).get()
    }

    /// Parses a complete JSON document from text. Error offsets are UTF-8 byte offsets.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        return try text.withUTF8 { _parse($0) }.get()
    }

    /// Parses a complete JSON document from text. Error offsets are UTF-8 byte offsets
    /// relative to the start of the substring.
    public static func parse(_ text: Substring) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        return try text.withUTF8 { _parse($0) }.get()
    }

    @usableFromInline
    internal static func _parse(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONSyntaxError> {
        var parser = _JSONParserCore(buffer)
        do {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}

// MARK: - ASCII constants

extension UInt8 {
    @usableFromInline static var _quote: UInt8 { 0x22 }       // "
    @usableFromInline static var _backslash: UInt8 { 0x5C }   // \
    @usableFromInline static var _slash: UInt8 { 0x2F }       // /
    @usableFromInline static var _comma: UInt8 { 0x2C }       // ,
    @usableFromInline static var _colon: UInt8 { 0x3A }       // :
    @usableFromInline static var _openBracket: UInt8 { 0x5B } // [
    @usableFromInline static var _closeBracket: UInt8 { 0x5D }// ]
    @usableFromInline static var _openBrace: UInt8 { 0x7B }   // {
    @usableFromInline static var _closeBrace: UInt8 { 0x7D }  // }
    @usableFromInline static var _minus: UInt8 { 0x2D }       // -
    @usableFromInline static var _plus: UInt8 { 0x2B }        // +
    @usableFromInline static var _dot: UInt8 { 0x2E }         // .
    @usableFromInline static var _zero: UInt8 { 0x30 }        // 0
    @usableFromInline static var _space: UInt8 { 0x20 }
    @usableFromInline static var _tab: UInt8 { 0x09 }
    @usableFromInline static var _lf: UInt8 { 0x0A }
    @usableFromInline static var _cr: UInt8 { 0x0D }
}

// MARK: - Parser core

internal struct _JSONParserCore: ~Copyable {
    private let input: UnsafeBufferPointer<UInt8>
    private let end: Int
    private var i: Int = 0
    /// Reused buffer for strings containing escape sequences.
    private var scratch: [UInt8] = []

    /// An open container while parsing. The parser keeps explicit stacks instead of recursing:
    /// completed elements of open arrays are pushed on `elements`, completed members of open
    /// objects on `members`; closing a container moves its slice into one exactly-sized array.
    private struct Frame {
        var isObject: Bool
        /// Start of this container's items in `elements` (arrays) or `members` (objects).
        var start: Int
        /// Objects: the key whose value is currently being parsed.
        var pendingKey: String
        /// Objects with many members: the keys seen so far, for duplicate detection.
        var keySet: Set<String>?
    }

    private var frames: [Frame] = []
    private var elements = _MoveStack<JSONValue>()
    private var members = _MoveStack<JSONObject.Entry>()

    /// Objects with more members than this use a hash set for duplicate detection.
    private static var linearKeySearchLimit: Int { 16 }

    init(_ input: UnsafeBufferPointer<UInt8>) {
        self.input = input
        self.end = input.count
    }

    // MARK: Document

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        if end >= 3 && input[0] == 0xEF && input[1] == 0xBB && input[2] == 0xBF {
            throw JSONSyntaxError(offset: 0, message: "a UTF-8 byte order mark is not allowed at the start of JSON text")
        }
        skipWhitespace()
        if i == end {
            throw JSONSyntaxError(offset: i, message: "empty input")
        }
        let value = try parseValue()
        skipWhitespace()
        if i != end {
            throw JSONSyntaxError(offset: i, message: "unexpected \(describe(input[i])) after JSON value")
        }
        return value
    }

    // MARK: Values (iterative)

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        var value: JSONValue

        while true {
            // A value is expected at `i`; whitespace has already been skipped.
            guard i < end else {
                throw JSONSyntaxError(offset: i, message: "unexpected end of input, expected a JSON value")
            }
            let c = input[i]
            switch c {
            case ._quote:
                value = .string(try parseString())

            case ._openBrace:
                guard frames.count < JSONParser.maximumDepth else { throw depthError() }
                i += 1
                skipWhitespace()
                if i < end && input[i] == ._closeBrace {
                    i += 1
                    value = .object(JSONObject())
                } else {
                    let key = try parseObjectKey()
                    frames.append(Frame(isObject: true, start: members.count, pendingKey: key, keySet: nil))
                    continue
                }

            case ._openBracket:
                guard frames.count < JSONParser.maximumDepth else { throw depthError() }
                i += 1
                skipWhitespace()
                if i < end && input[i] == ._closeBracket {
                    i += 1
                    value = .array([])
                } else {
                    frames.append(Frame(isObject: false, start: elements.count, pendingKey: "", keySet: nil))
                    continue
                }

            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)

            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)

            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null

            case ._minus, UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try parseNumber())

            default:
                throw unexpectedValueStart(c)
            }

            // `value` is complete: attach it to the enclosing container(s), closing containers
            // until one of them expects another element.
            attach: while true {
                let top = frames.count - 1
                guard top >= 0 else { return value }
                skipWhitespace()
                if frames[top].isObject {
                    var key = ""
                    swap(&key, &frames[top].pendingKey)
                    members.push(JSONObject.Entry(key: key, value: value))
                    guard i < end else {
                        throw JSONSyntaxError(offset: i, message: "unexpected end of input, expected ',' or '}' after object member")
                    }
                    let d = input[i]
                    if d == ._comma {
                        let commaOffset = i
                        i += 1
                        skipWhitespace()
                        if i < end && input[i] == ._closeBrace {
                            throw JSONSyntaxError(offset: commaOffset, message: "trailing comma is not allowed")
                        }
                        let keyOffset = i
                        let key = try parseObjectKey()
                        if isDuplicate(key, frame: top) {
                            throw duplicateKeyError(key, at: keyOffset)
                        }
                        frames[top].pendingKey = key
                        break attach
                    } else if d == ._closeBrace {
                        i += 1
                        value = .object(JSONObject(_uniqueEntries: members.popArray(from: frames[top].start)))
                        frames.removeLast()
                    } else {
                        throw JSONSyntaxError(offset: i, message: "expected ',' or '}' after object member, found \(describe(d))")
                    }
                } else {
                    elements.push(value)
                    guard i < end else {
                        throw JSONSyntaxError(offset: i, message: "unexpected end of input, expected ',' or ']' after array element")
                    }
                    let d = input[i]
                    if d == ._comma {
                        let commaOffset = i
                        i += 1
                        skipWhitespace()
                        if i < end && input[i] == ._closeBracket {
                            throw JSONSyntaxError(offset: commaOffset, message: "trailing comma is not allowed")
                        }
                        break attach
                    } else if d == ._closeBracket {
                        i += 1
                        value = .array(elements.popArray(from: frames[top].start))
                        frames.removeLast()
                    } else {
                        throw JSONSyntaxError(offset: i, message: "expected ',' or ']' after array element, found \(describe(d))")
                    }
                }
            }
        }
    }

    /// Parses `"key"` `:` and the whitespace after the colon.
    private mutating func parseObjectKey() throws(JSONSyntaxError) -> String {
        guard i < end else {
            throw JSONSyntaxError(offset: i, message: "unexpected end of input, expected object key")
        }
        guard input[i] == ._quote else {
            throw JSONSyntaxError(offset: i, message: "expected '\"' to begin object key, found \(describe(input[i]))")
        }
        let key = try parseString()
        skipWhitespace()
        guard i < end else {
            throw JSONSyntaxError(offset: i, message: "unexpected end of input, expected ':' after object key")
        }
        guard input[i] == ._colon else {
            throw JSONSyntaxError(offset: i, message: "expected ':' after object key")
        }
        i += 1
        skipWhitespace()
        return key
    }

    /// Whether `key` is already a member of the object open in `frames[f]`.
    /// For large objects this also records `key` in the frame's key set.
    private mutating func isDuplicate(_ key: String, frame f: Int) -> Bool {
        let start = frames[f].start
        let n = members.count
        if n - start < _JSONParserCore.linearKeySearchLimit {
            var k = start
            while k < n {
                if members[k].key == key { return true }
                k += 1
            }
            return false
        }
        if frames[f].keySet == nil {
            var set = Set<String>(minimumCapacity: 2 * (n - start))
            for k in start..<n { set.insert(members[k].key) }
            frames[f].keySet = set
        }
        return frames[f].keySet?.insert(key).inserted == false
    }

    private func duplicateKeyError(_ key: String, at offset: Int) -> JSONSyntaxError {
        var quoted: [UInt8] = []
        _JSONSerializer.appendString(key, into: &quoted)
        return JSONSyntaxError(offset: offset, message: "duplicate key \(String(decoding: quoted, as: UTF8.self))")
    }

    // MARK: Whitespace

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < end {
            let c = input[i]
            guard c == ._space || c == ._lf || c == ._cr || c == ._tab else { return }
            i += 1
        }
    }

    // MARK: Literals

    @inline(__always)
    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let n = literal.utf8CodeUnitCount
        let p = literal.utf8Start
        if end - i >= n {
            var k = 0
            while k < n && input[i + k] == p[k] { k += 1 }
            if k == n {
                i += n
                return
            }
        }
        throw JSONSyntaxError(offset: i, message: "invalid literal, expected '\(literal)'")
    }

    // MARK: Numbers

    /// Scans an RFC 8259 number at `i` and returns its literal text.
    private mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = i
        var j = i
        if input[j] == ._minus {
            j += 1
            guard j < end && _isDigit(input[j]) else {
                throw JSONSyntaxError(offset: j, message: "expected a digit after '-'")
            }
        }
        if input[j] == ._zero {
            j += 1
            if j < end && _isDigit(input[j]) {
                throw JSONSyntaxError(offset: j - 1, message: "leading zeros are not allowed in numbers")
            }
        } else {
            j += 1
            while j < end && _isDigit(input[j]) { j += 1 }
        }
        if j < end && input[j] == ._dot {
            j += 1
            guard j < end && _isDigit(input[j]) else {
                throw JSONSyntaxError(offset: j, message: "expected a digit after the decimal point")
            }
            j += 1
            while j < end && _isDigit(input[j]) { j += 1 }
        }
        if j < end && (input[j] | 0x20) == UInt8(ascii: "e") {
            j += 1
            if j < end && (input[j] == ._plus || input[j] == ._minus) { j += 1 }
            guard j < end && _isDigit(input[j]) else {
                throw JSONSyntaxError(offset: j, message: "expected a digit in the exponent")
            }
            j += 1
            while j < end && _isDigit(input[j]) { j += 1 }
        }
        i = j
        return String(decoding: UnsafeBufferPointer(rebasing: input[start..<j]), as: UTF8.self)
    }

    // MARK: Strings

    /// Parses a string starting at the opening quote at `i`.
    @inline(__always)
    private mutating func parseString() throws(JSONSyntaxError) -> String {
        let start = i + 1
        var j = start
        // Fast path: printable ASCII without escapes, 8 bytes at a time, then bytewise.
        if let base = input.baseAddress {
            while end - j >= 8 && !_swarStopsFastStringScan(UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)) {
                j += 8
            }
        }
        while j < end {
            let c = input[j]
            if c &- 0x20 >= 0x60 || c == ._backslash { break }  // c < 0x20 || c >= 0x80 || '\'
            if c == ._quote {
                i = j + 1
                return String(decoding: UnsafeBufferPointer(rebasing: input[start..<j]), as: UTF8.self)
            }
            j += 1
        }
        return try parseStringSlow(quote: i, from: j)
    }

    /// General string path: escapes, non-ASCII (validated) and errors.
    /// `from` is the first byte not handled by the fast path; everything in `quote+1..<from`
    /// is plain ASCII.
    private mutating func parseStringSlow(quote: Int, from: Int) throws(JSONSyntaxError) -> String {
        let start = quote + 1
        var j = from
        var runStart = start
        var hasEscapes = false
        while j < end {
            let c = input[j]
            if c == ._quote {
                i = j + 1
                if !hasEscapes {
                    return String(decoding: UnsafeBufferPointer(rebasing: input[start..<j]), as: UTF8.self)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<j]))
                return String(decoding: scratch, as: UTF8.self)
            } else if c == ._backslash {
                if !hasEscapes {
                    hasEscapes = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<j]))
                j = try parseEscape(at: j)
                runStart = j
            } else if c < 0x20 {
                throw JSONSyntaxError(offset: j, message: "unescaped control character \(hexByte(c)) in string")
            } else if c < 0x80 {
                j += 1
            } else {
                let n = utf8SequenceLength(at: j)
                if n == 0 {
                    throw JSONSyntaxError(offset: j, message: "invalid UTF-8 byte sequence in string")
                }
                j += n
            }
        }
        throw JSONSyntaxError(offset: quote, message: "unterminated string")
    }

    /// Decodes the escape sequence whose backslash is at `j`, appending its UTF-8 to `scratch`.
    /// Returns the index just past the escape.
    private mutating func parseEscape(at j: Int) throws(JSONSyntaxError) -> Int {
        guard j + 1 < end else {
            throw JSONSyntaxError(offset: j, message: "unexpected end of input in escape sequence")
        }
        let e = input[j + 1]
        switch e {
        case ._quote, ._backslash, ._slash:
            scratch.append(e)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            guard let unit = hex4(at: j + 2) else {
                throw JSONSyntaxError(offset: j, message: "invalid \\u escape: expected four hexadecimal digits")
            }
            var next = j + 6
            var scalar = unit
            if unit >= 0xD800 && unit <= 0xDBFF {
                // High surrogate: must be followed by an escaped low surrogate.
                guard next + 1 < end && input[next] == ._backslash && input[next + 1] == UInt8(ascii: "u") else {
                    throw JSONSyntaxError(offset: j, message: "unpaired surrogate \\u\(hex4String(unit)) in string")
                }
                guard let low = hex4(at: next + 2) else {
                    throw JSONSyntaxError(offset: next, message: "invalid \\u escape: expected four hexadecimal digits")
                }
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw JSONSyntaxError(offset: j, message: "unpaired surrogate \\u\(hex4String(unit)) in string")
                }
                scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                next += 6
            } else if unit >= 0xDC00 && unit <= 0xDFFF {
                throw JSONSyntaxError(offset: j, message: "unpaired surrogate \\u\(hex4String(unit)) in string")
            }
            appendUTF8(scalar)
            return next
        default:
            throw JSONSyntaxError(offset: j, message: "invalid escape sequence '\\\(printable(e))' in string")
        }
        return j + 2
    }

    /// Value of four hex digits at `k`, or nil.
    @inline(__always)
    private func hex4(at k: Int) -> UInt32? {
        guard end - k >= 4 else { return nil }
        var v: UInt32 = 0
        for t in 0..<4 {
            let c = input[k + t]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            v = (v << 4) | UInt32(d)
        }
        return v
    }

    @inline(__always)
    private mutating func appendUTF8(_ scalar: UInt32) {
        if scalar < 0x80 {
            scratch.append(UInt8(truncatingIfNeeded: scalar))
        } else if scalar < 0x800 {
            scratch.append(UInt8(truncatingIfNeeded: 0xC0 | (scalar >> 6)))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F)))
        } else if scalar < 0x10000 {
            scratch.append(UInt8(truncatingIfNeeded: 0xE0 | (scalar >> 12)))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F)))
        } else {
            scratch.append(UInt8(truncatingIfNeeded: 0xF0 | (scalar >> 18)))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(truncatingIfNeeded: 0x80 | (scalar & 0x3F)))
        }
    }

    /// Length of the well-formed UTF-8 sequence starting at `j` (whose first byte is >= 0x80),
    /// or 0 if it is ill-formed (Unicode Table 3-7: no overlongs, no surrogates, <= U+10FFFF).
    @inline(__always)
    private func utf8SequenceLength(at j: Int) -> Int {
        let c0 = input[j]
        @inline(__always) func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
        if c0 < 0xC2 {
            return 0  // stray continuation byte or overlong 2-byte lead
        } else if c0 < 0xE0 {
            guard end - j >= 2 && isContinuation(input[j + 1]) else { return 0 }
            return 2
        } else if c0 < 0xF0 {
            guard end - j >= 3 else { return 0 }
            let c1 = input[j + 1]
            let lo: UInt8 = c0 == 0xE0 ? 0xA0 : 0x80  // E0: no overlongs
            let hi: UInt8 = c0 == 0xED ? 0x9F : 0xBF  // ED: no UTF-16 surrogates
            guard c1 >= lo && c1 <= hi && isContinuation(input[j + 2]) else { return 0 }
            return 3
        } else if c0 < 0xF5 {
            guard end - j >= 4 else { return 0 }
            let c1 = input[j + 1]
            let lo: UInt8 = c0 == 0xF0 ? 0x90 : 0x80  // F0: no overlongs
            let hi: UInt8 = c0 == 0xF4 ? 0x8F : 0xBF  // F4: nothing above U+10FFFF
            guard c1 >= lo && c1 <= hi && isContinuation(input[j + 2]) && isContinuation(input[j + 3]) else {
                return 0
            }
            return 4
        } else {
            return 0  // F5..FF never appear in UTF-8
        }
    }

    // MARK: Errors

    private func depthError() -> JSONSyntaxError {
        JSONSyntaxError(offset: i, message: "nesting depth exceeds the maximum of \(JSONParser.maximumDepth)")
    }

    private func unexpectedValueStart(_ c: UInt8) -> JSONSyntaxError {
        let message: String
        switch c {
        case ._plus:
            message = "numbers must not start with '+'"
        case ._dot:
            message = "numbers must start with a digit"
        case ._slash:
            message = "comments are not allowed"
        default:
            message = "unexpected \(describe(c)), expected a JSON value"
        }
        return JSONSyntaxError(offset: i, message: message)
    }

    /// "character 'x'" for printable ASCII, otherwise "byte 0xNN".
    private func describe(_ c: UInt8) -> String {
        if c > 0x20 && c < 0x7F {
            return "character '\(printable(c))'"
        }
        return "byte \(hexByte(c))"
    }

    private func printable(_ c: UInt8) -> String {
        if c > 0x20 && c < 0x7F {
            return String(decoding: CollectionOfOne(c), as: UTF8.self)
        }
        return hexByte(c)
    }

    private func hexByte(_ c: UInt8) -> String {
        let digits: StaticString = "0123456789ABCDEF"
        let p = digits.utf8Start
        let bytes: [UInt8] = [UInt8(ascii: "0"), UInt8(ascii: "x"), p[Int(c >> 4)], p[Int(c & 0x0F)]]
        return String(decoding: bytes, as: UTF8.self)
    }

    private func hex4String(_ v: UInt32) -> String {
        let digits: StaticString = "0123456789ABCDEF"
        let p = digits.utf8Start
        var bytes: [UInt8] = []
        for shift in stride(from: 12, through: 0, by: -4) {
            bytes.append(p[Int((v >> UInt32(shift)) & 0xF)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

// MARK: - Move-only stack

/// A growable stack whose top segment can be *moved* into an exactly-sized `Array` without
/// retain/release traffic. Used by the parser for the items of open containers.
internal struct _MoveStack<Element>: ~Copyable {
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    private(set) var count: Int

    init() {
        capacity = 64
        base = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
        count = 0
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    @inline(__always)
    mutating func push(_ element: consuming Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count += 1
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    subscript(position: Int) -> Element {
        @inline(__always) _read {
            precondition(position >= 0 && position < count)
            yield base[position]
        }
    }

    /// Moves the elements `start..<count` into a new array and removes them from the stack.
    mutating func popArray(from start: Int) -> [Element] {
        precondition(start >= 0 && start <= count)
        let n = count - start
        guard n > 0 else { return [] }
        let source = base + start
        let result = [Element](unsafeUninitializedCapacity: n) { buffer, initialized in
            if let destination = buffer.baseAddress {
                destination.moveInitialize(from: source, count: n)
                initialized = n
            } else {
                initialized = 0
            }
        }
        count = start
        return result
    }
}
