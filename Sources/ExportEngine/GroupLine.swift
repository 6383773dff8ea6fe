import ExportDomain

/// The exported Group when opt-outs, `_elements` or redaction change it, made from the stored
/// bytes in two passes — one measures the line, one writes it — so a list of a million members
/// is never in memory whole: what is held is the positions of the members that go. Redaction
/// works member by member on bytes (`Redactor.redactPart`); where it cannot (an expression
/// that needs the tree, a companion next to a change) `init` returns nil and the caller
/// assembles and redacts the Group in memory.
struct GroupLine {
    private let group: GroupWindow
    private let properties: [ResourceScan.Property]
    /// The `_elements` names kept at the root, or nil.
    private let kept: Set<String>?
    private let redactor: Redactor?
    /// Indices of the `member` elements of opted-out patients, ascending.
    private let droppedMembers: [Int]
    private let taggedMeta: [UInt8]
    /// Whether anything was removed (then the line carries the SUBSETTED tag).
    private(set) var changed = false
    private(set) var length = 0

    private struct NeedsTree: Error {}

    /// - Parameters:
    ///   - redactor: nil when redaction cannot change this Group (decided from its bytes).
    ///   - droppedMembers: the indices (ascending) of the `member` elements `Subsetting.keepsMember`
    ///     leaves out, when the caller already knows them; nil: found here, in a pass of their own.
    /// - Returns: nil when the Group must be assembled in memory.
    init?(group: GroupWindow, properties: [ResourceScan.Property], kept: Set<String>?, redactor: Redactor?,
          optedOut: Set<String>, droppedMembers known: [Int]? = nil, baseURL: String) {
        self.group = group
        self.properties = properties
        self.kept = kept
        self.redactor = redactor
        var dropped: [Int] = known ?? []
        if known == nil, !optedOut.isEmpty, let members = properties.first(where: { $0.key == "member" }) {
            var index = 0
            _ = ResourceScan.forEachElement(in: group, array: members.value) { range in
                if !Subsetting.keepsMember(entityOf: group.bytes(range), optedOut: optedOut, baseURL: baseURL) {
                    dropped.append(index)
                }
                index += 1
            }
        }
        droppedMembers = dropped
        // Stored resources always have an object `meta` (the server stamps it); anything else
        // takes the in-memory path, which handles every case.
        guard let meta = properties.first(where: { $0.key == "meta" }),
              case .object(let object)? = try? JSONParser.parse(group.bytes(meta.value)) else { return nil }
        var holder = JSONObject([("meta", .object(object))])
        Subsetting.addSubsettedTag(&holder)
        taggedMeta = holder["meta"]?.serialized() ?? []
        var measured = 0
        do {
            changed = try pass(tagged: false) { measured += $0.count }
        } catch {
            return nil
        }
        length = measured - meta.value.count + taggedMeta.count
    }

    /// Writes the line (without its newline).
    func write(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        do {
            _ = try pass(tagged: true, sink)
        } catch is NeedsTree {
            // The measuring pass decided the same parts the same way.
            throw ExportFailure(reason: .groupMalformed(group: "Group"))
        }
    }

    /// One pass over the properties; returns whether anything was removed.
    private func pass(tagged: Bool, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var changed = false
        var first = true
        func literal(_ text: StaticString) throws {
            try sink(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        func bytes(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes(sink) }
        func stored(_ range: Range<Int>) throws { try group.forEachPiece(of: range, sink) }
        func key(_ property: ResourceScan.Property) throws {
            if !first { try literal(",") }
            first = false
            try bytes(JSONValue.string(property.key).serialized() + [UInt8(ascii: ":")])
        }
        let keys = Set(properties.map(\.key))
        /// A redacted change next to a `_name` companion is the tree's (ElementRemoval keeps them aligned).
        func redactionChanged(_ property: ResourceScan.Property) throws {
            changed = true
            if keys.contains("_" + property.key) { throw NeedsTree() }
        }

        try literal("{")
        for property in properties {
            let name = property.key.hasPrefix("_") ? String(property.key.dropFirst()) : property.key
            if let kept, !kept.contains(name) {
                changed = true
                continue
            }
            switch property.key {
            case "meta":
                try key(property)
                if tagged { try bytes(taggedMeta) } else { try stored(property.value) }
            case "member" where group.byte(at: property.value.lowerBound) == UInt8(ascii: "["):
                var written = 0
                var removed = false
                var dropped = droppedMembers[...]
                var index = -1
                var failure: Error?
                let complete = ResourceScan.forEachElement(in: group, array: property.value) { range in
                    index += 1
                    guard failure == nil else { return }
                    do {
                        if dropped.first == index {
                            dropped.removeFirst()
                            removed = true
                            return
                        }
                        var replacement: [UInt8]?
                        if let redactor {
                            switch redactor.redactPart(type: "Group", key: "member", value: group.bytes(range), isArrayItem: true) {
                            case .unchanged: break
                            case .replaced(let redacted): replacement = redacted
                            case .removed:
                                removed = true
                                try redactionChanged(property)
                                return
                            case .needsTree: throw NeedsTree()
                            }
                            if replacement != nil { try redactionChanged(property) }
                        }
                        if written == 0 {
                            try key(property)
                            try literal("[")
                        } else {
                            try literal(",")
                        }
                        written += 1
                        if let replacement { try bytes(replacement) } else { try stored(range) }
                    } catch {
                        failure = error
                    }
                }
                if let failure { throw failure }
                guard complete else { throw NeedsTree() }
                if removed { changed = true }
                if written > 0 {
                    try literal("]")
                } else if !removed {
                    try key(property)
                    try stored(property.value)
                }
            default:
                var outcome = Redactor.PartOutcome.unchanged
                if let redactor {
                    outcome = redactor.redactPart(type: "Group", key: property.key, value: group.bytes(property.value), isArrayItem: false)
                }
                switch outcome {
                case .unchanged:
                    try key(property)
                    try stored(property.value)
                case .replaced(let redacted):
                    try redactionChanged(property)
                    try key(property)
                    try bytes(redacted)
                case .removed:
                    try redactionChanged(property)
                case .needsTree:
                    throw NeedsTree()
                }
            }
        }
        try literal("}")
        return changed
    }
}
