/// `ExportReferences.additionalReferences` over the stored JSON of an export's many resources,
/// remembering what each followed element's value yields: most members name the same payor and
/// one of a few hundred practitioners, so a value is parsed once per export, not once per member.
public struct ExportReferenceReader {
    public let baseURL: String
    private var keysByValue: [ValueBytes: [ResourceKey]] = [:]
    /// Values remembered at most; later new ones are parsed each time, so memory stays bounded.
    public static let capacity = 4096

    private static let followedNames: [ResourceType: [[UInt8]]] =
        ExportReferences.followedElements.mapValues { $0.map { Array($0.utf8) } }

    public var rememberedValues: Int { keysByValue.count }

    public init(baseURL: String) {
        self.baseURL = baseURL
    }

    /// What `ExportReferences.additionalReferences(type:json:baseURL:)` answers.
    public mutating func additionalReferences(type: ResourceType, json: [UInt8]) -> [ResourceKey] {
        guard let names = Self.followedNames[type] else { return [] }
        guard let values = ResourceScan.values(of: names, in: json) else {
            return ExportReferences.additionalReferences(type: type, json: json, baseURL: baseURL)
        }
        var result: [ResourceKey] = []
        for case let range? in values {
            for key in keys(json[range]) where !result.contains(key) { result.append(key) }
        }
        return result
    }

    private mutating func keys(_ value: ArraySlice<UInt8>) -> [ResourceKey] {
        guard Self.mayReferenceATarget(value) else { return [] }
        if let known = keysByValue[ValueBytes(value)] { return known }
        let keys = ExportReferences.followedKeys(in: Array(value), baseURL: baseURL)
        if keysByValue.count < Self.capacity { keysByValue[ValueBytes(ArraySlice(Array(value)))] = keys }
        return keys
    }
}

extension ExportReferenceReader {
    private static let targetPrefixes = ExportReferences.targetTypes.map { Array("\($0.rawValue)/".utf8) }

    /// False when no reference in `value` can name a target type: a local reference's text holds
    /// `Type/` (relative or absolute), unless written with JSON escapes. Most values are
    /// unique (a Coverage's `policyHolder` is the member's RelatedPerson), so they are neither
    /// parsed nor remembered.
    static func mayReferenceATarget(_ value: ArraySlice<UInt8>) -> Bool {
        value.withUnsafeBytes { bytes in
            if bytes.contains(UInt8(ascii: "\\")) { return true }
            for prefix in targetPrefixes {
                guard let first = prefix.first, bytes.count >= prefix.count else { continue }
                var start = 0
                while start + prefix.count <= bytes.count {
                    guard let index = bytes[start...].firstIndex(of: first), index + prefix.count <= bytes.count else { break }
                    if prefix.withUnsafeBytes({ UnsafeRawBufferPointer(rebasing: bytes[index..<(index + prefix.count)]).sameBytes(as: $0) }) {
                        return true
                    }
                    start = index + 1
                }
            }
            return false
        }
    }
}

/// A value's bytes as a dictionary key, hashed as one buffer (`ArraySlice`'s own hashing
/// feeds the hasher a byte at a time).
private struct ValueBytes: Hashable {
    let bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (left: ValueBytes, right: ValueBytes) -> Bool {
        left.bytes.withUnsafeBytes { a in right.bytes.withUnsafeBytes { b in a.sameBytes(as: b) } }
    }
}
