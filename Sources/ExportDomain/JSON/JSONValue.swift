// JSONValue.swift
//
// A lossless JSON document model for FHIR processing:
//  * numbers keep their exact literal text (1.10 stays 1.10),
//  * objects keep their key order (see `JSONObject`),
//  * everything is a value type and `Sendable`.
//
// No Foundation dependency.

/// A JSON value.
///
/// Equality and hashing are structural and *literal*: two numbers are equal only when their
/// literal text is identical (`1.0` != `1.00`), and two objects are equal only when they hold
/// the same keys in the same order with equal values.
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    /// The number literal exactly as written in the input. Parsed values are validated against
    /// the RFC 8259 number grammar; values constructed in code are written out verbatim by the
    /// serializer, so they should satisfy `JSONValue.isValidNumberLiteral(_:)`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

// MARK: - Convenience accessors

extension JSONValue {
    /// The string payload, or `nil` if this is not a `.string`.
    @inlinable
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object payload, or `nil` if this is not an `.object`.
    @inlinable
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The array payload, or `nil` if this is not an `.array`.
    @inlinable
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The boolean payload, or `nil` if this is not a `.bool`.
    @inlinable
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The literal text of a `.number`, or `nil` if this is not a number.
    @inlinable
    public var numberLiteral: String? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The number as an `Int`, if this is a `.number` whose literal is a plain integer
    /// (no fraction, no exponent) that fits in `Int`.
    public var intValue: Int? {
        if case .number(let n) = self { return Int(n) }
        return nil
    }

    /// The number converted to the nearest `Double`, if this is a `.number`.
    /// (Lossy by nature; use `numberLiteral` to keep the exact text.)
    public var doubleValue: Double? {
        if case .number(let n) = self { return Double(n) }
        return nil
    }

    /// `true` if this is `.null`.
    @inlinable
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member value for `key` when this is an object containing `key`; otherwise `nil`.
    @inlinable
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The element at `index` when this is an array and `index` is in bounds; otherwise `nil`.
    @inlinable
    public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    /// A `.number` holding the decimal literal of `value`.
    @inlinable
    public static func integer<T: BinaryInteger>(_ value: T) -> JSONValue {
        .number(String(value))
    }

    /// Whether `text` matches the RFC 8259 `number` production exactly
    /// (`-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`).
    public static func isValidNumberLiteral(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { buf in
            let n = buf.count
            var i = 0
            if i < n && buf[i] == UInt8(ascii: "-") { i += 1 }
            guard i < n else { return false }
            if buf[i] == UInt8(ascii: "0") {
                i += 1
            } else if buf[i] >= UInt8(ascii: "1") && buf[i] <= UInt8(ascii: "9") {
                while i < n && _isDigit(buf[i]) { i += 1 }
            } else {
                return false
            }
            if i < n && buf[i] == UInt8(ascii: ".") {
                i += 1
                guard i < n && _isDigit(buf[i]) else { return false }
                while i < n && _isDigit(buf[i]) { i += 1 }
            }
            if i < n && (buf[i] == UInt8(ascii: "e") || buf[i] == UInt8(ascii: "E")) {
                i += 1
                if i < n && (buf[i] == UInt8(ascii: "+") || buf[i] == UInt8(ascii: "-")) { i += 1 }
                guard i < n && _isDigit(buf[i]) else { return false }
                while i < n && _isDigit(buf[i]) { i += 1 }
            }
            return i == n
        }
    }
}

@inline(__always)
@usableFromInline
internal func _isDigit(_ c: UInt8) -> Bool {
    c &- UInt8(ascii: "0") < 10
}

// MARK: - Literals (for building documents in code)

extension JSONValue: ExpressibleByBooleanLiteral {
    @inlinable
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    @inlinable
    public init(integerLiteral value: Int) { self = .number(String(value)) }
}

extension JSONValue: ExpressibleByStringLiteral {
    @inlinable
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    @inlinable
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Builds an `.object` keeping the literal's key order. A repeated key replaces the earlier
    /// value in place.
    @inlinable
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact serialized form.
    public var description: String { serializedString }
}
