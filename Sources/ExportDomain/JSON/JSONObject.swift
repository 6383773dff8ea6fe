// JSONObject.swift
//
// An insertion-ordered JSON object with unique keys. Members live in a single contiguous
// array (one allocation per object). Small objects, the common FHIR case, are searched
// linearly; once an object has more than `JSONObject.indexThreshold` members, a hash index
// (key -> position) is maintained alongside.

/// An ordered collection of unique `String` keys and `JSONValue` values.
///
/// * Setting a value for an existing key replaces it in place (the key keeps its position).
/// * Setting a value for a new key appends it.
/// * Setting `nil` removes the key.
///
/// Equality and hashing are order-sensitive (two objects are equal when they hold the same
/// keys in the same order with equal values), consistent with the serialized form.
public struct JSONObject: Sendable {
    @usableFromInline
    internal struct Entry: Sendable, Hashable {
        @usableFromInline var key: String
        @usableFromInline var value: JSONValue

        @inlinable
        init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    @usableFromInline internal var _entries: [Entry]
    /// key -> position; only present when `count > indexThreshold`.
    @usableFromInline internal var _index: [String: Int]?

    @usableFromInline internal static var indexThreshold: Int { 16 }

    /// An empty object.
    @inlinable
    public init() {
        _entries = []
        _index = nil
    }

    /// An object holding `pairs` in order. If a key repeats, the later value replaces the
    /// earlier one in place (like subscript assignment).
    public init(_ pairs: [(String, JSONValue)]) {
        self.init()
        _entries.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    /// An object with room for `minimumCapacity` members without reallocating.
    public init(minimumCapacity: Int) {
        self.init()
        reserveCapacity(minimumCapacity)
    }

    /// Takes entries whose keys are known to be unique (used by the parser).
    internal init(_uniqueEntries entries: [Entry]) {
        _entries = entries
        _index = nil
        if entries.count > JSONObject.indexThreshold { _rebuildIndex() }
    }

    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        _entries.reserveCapacity(minimumCapacity)
    }

    // MARK: Basic properties

    /// The keys in stored order. (Computed: O(count).)
    public var keys: [String] { _entries.map(\.key) }

    @inlinable
    public var count: Int { _entries.count }

    @inlinable
    public var isEmpty: Bool { _entries.isEmpty }

    // MARK: Lookup

    /// The position of `key` in stored order, or `nil` if absent.
    @inlinable
    public func index(forKey key: String) -> Int? {
        if let index = _index { return index[key] }
        for i in _entries.indices where _entries[i].key == key { return i }
        return nil
    }

    /// Whether the object contains `key`.
    @inlinable
    public func contains(key: String) -> Bool {
        index(forKey: key) != nil
    }

    /// The value for `key`, or `nil`. Assigning replaces in place / appends / removes (`nil`).
    @inlinable
    public subscript(key: String) -> JSONValue? {
        get {
            guard let i = index(forKey: key) else { return nil }
            return _entries[i].value
        }
        set {
            if let newValue {
                if let i = index(forKey: key) {
                    _entries[i].value = newValue
                } else {
                    _appendNew(key, newValue)
                }
            } else {
                _ = removeValue(forKey: key)
            }
        }
    }

    /// The key/value pair at `position` in stored order. `position` must be in `0..<count`.
    @inlinable
    public subscript(position position: Int) -> (key: String, value: JSONValue) {
        let e = _entries[position]
        return (e.key, e.value)
    }

    // MARK: Mutation

    /// Removes `key` and returns its value, or returns `nil` if it was absent.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let i = index(forKey: key) else { return nil }
        let old = _entries.remove(at: i).value
        _rebuildIndex()
        return old
    }

    /// Inserts `value` for `key` at position `index`, where `index` refers to the current
    /// positions: the member ends up immediately before the member now at `index` (or last,
    /// if `index >= count`). Typical use: placing `"meta"` right after `"id"` with
    /// `insert(meta, forKey: "meta", at: (object.index(forKey: "id") ?? -1) + 1)`.
    ///
    /// If `key` is already present, its old entry is removed (so the key is moved, not
    /// duplicated); this works even when the old entry sits before `index`. `index` is clamped
    /// to `0...count`.
    public mutating func insert(_ value: JSONValue, forKey key: String, at index: Int) {
        var position = Swift.min(Swift.max(index, 0), _entries.count)
        if let existing = self.index(forKey: key) {
            _entries.remove(at: existing)
            if existing < position { position -= 1 }
        }
        _entries.insert(Entry(key: key, value: value), at: position)
        _rebuildIndex()
    }

    // MARK: Internals

    /// Appends a key that is known not to be present.
    @usableFromInline
    internal mutating func _appendNew(_ key: String, _ value: JSONValue) {
        let position = _entries.count
        _entries.append(Entry(key: key, value: value))
        if _index != nil {
            _index?[key] = position
        } else if _entries.count > JSONObject.indexThreshold {
            _rebuildIndex()
        }
    }

    @usableFromInline
    internal mutating func _rebuildIndex() {
        guard _entries.count > JSONObject.indexThreshold else {
            _index = nil
            return
        }
        var index = [String: Int](minimumCapacity: _entries.count)
        for i in _entries.indices { index[_entries[i].key] = i }
        _index = index
    }
}

// MARK: - Equatable / Hashable

extension JSONObject: Equatable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs._entries == rhs._entries
    }
}

extension JSONObject: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(_entries)
    }
}

// MARK: - Sequence

extension JSONObject: Sequence {
    public typealias Element = (key: String, value: JSONValue)

    public struct Iterator: IteratorProtocol, Sendable {
        @usableFromInline internal let _entries: [Entry]
        @usableFromInline internal var _position: Int

        @inlinable
        internal init(_ entries: [Entry]) {
            _entries = entries
            _position = 0
        }

        @inlinable
        public mutating func next() -> (key: String, value: JSONValue)? {
            guard _position < _entries.count else { return nil }
            let e = _entries[_position]
            _position += 1
            return (e.key, e.value)
        }
    }

    @inlinable
    public func makeIterator() -> Iterator { Iterator(_entries) }

    @inlinable
    public var underestimatedCount: Int { _entries.count }
}

// MARK: - Literal

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// Keeps the literal's key order; a repeated key replaces the earlier value in place.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}

extension JSONObject: CustomStringConvertible {
    /// The compact serialized form.
    public var description: String { JSONValue.object(self).serializedString }
}
