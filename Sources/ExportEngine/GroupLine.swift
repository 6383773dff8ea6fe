import ExportDomain

/// The exported Group when opt-outs, `_elements` or redaction change it, made from the stored
/// bytes in two passes — one measures the line, one writes it — so a list of a million members
/// is never in memory whole: what is held is the positions of the members that go. When only
/// opt-outs change it (no `_elements` for the Group, no redaction that can change it), neither
/// pass scans the list: the line is the stored bytes around the members that go. Redaction
/// works member by member on bytes (`Redactor.redactPart`); where it cannot (an expression
/// that needs the tree, a companion next to a change) `init` returns nil and the caller
/// assembles and redacts the Group in memory.
struct GroupLine {
    /// A `member` element left out: its index in the list and its bytes' range.
    struct Dropped: Sendable, Equatable {
        var index: Int
        var range: Range<Int>
    }

    private let group: GroupWindow
    private let properties: [ResourceScan.Property]
    /// The `_elements` names kept at the root, or nil.
    private let kept: Set<String>?
    private let redactor: Redactor?
    /// The `member` elements of opted-out patients, ascending.
    private let droppedMembers: [Dropped]
    /// The line as stored ranges and literals, when only opt-outs change it.
    private var aroundDropped: LinePieces<GroupWindow>?
    /// Whether the line is made without a pass over the list.
    var isStoredAroundDropped: Bool { aroundDropped != nil }
    private let taggedMeta: [UInt8]
    /// Whether anything was removed (then the line carries the SUBSETTED tag).
    private(set) var changed = false
    private(set) var length = 0

    private struct NeedsTree: Error {}

    /// - Parameters:
    ///   - redactor: nil when redaction cannot change this Group (decided from its bytes).
    ///   - droppedMembers: the `member` elements (ascending) `Subsetting.keepsMember` leaves out,
    ///     when the caller already knows them; nil: found here, in a pass of their own.
    /// - Returns: nil when the Group must be assembled in memory.
    init?(group: GroupWindow, properties: [ResourceScan.Property], kept: Set<String>?, redactor: Redactor?,
          optedOut: Set<String>, droppedMembers known: [Dropped]? = nil, baseURL: String) {
        self.group = group
        self.properties = properties
        self.kept = kept
        self.redactor = redactor
        var dropped: [Dropped] = known ?? []
        if known == nil, !optedOut.isEmpty, let members = properties.first(where: { $0.key == "member" }) {
            var index = 0
            _ = ResourceScan.forEachElement(in: group, array: members.value) { range in
                if !Subsetting.keepsMember(entityOf: group.bytes(range), optedOut: optedOut, baseURL: baseURL) {
                    dropped.append(Dropped(index: index, range: range))
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
        if redactor == nil, kept == nil, let pieces = storedAroundDropped() {
            aroundDropped = pieces
            changed = !dropped.isEmpty
            length = pieces.count
            return
        }
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
        if let aroundDropped { return try aroundDropped.forEach(sink) }
        do {
            _ = try pass(tagged: true, sink)
        } catch is NeedsTree {
            // The measuring pass decided the same parts the same way.
            throw ExportFailure(reason: .groupMalformed(group: "Group"))
        }
    }

    /// The line without the dropped members, from their ranges alone: the stored bytes between
    /// them, the tagged meta for the stored one. The list's elements are separated by one comma
    /// as this server writes JSON (compact); nil when a dropped element's neighbours say
    /// otherwise, or the list is not an array (the passes decide then).
    private func storedAroundDropped() -> LinePieces<GroupWindow>? {
        guard properties.filter({ $0.key == "member" }).count <= 1 else { return nil }
        var pieces = LinePieces(group)
        pieces.literal("{")
        for property in properties {
            var runs: [Range<Int>]?
            if property.key == "member" && !droppedMembers.isEmpty {
                guard let keptRuns = memberList(property.value) else { return nil }
                // Every member goes: so does the property.
                if keptRuns.isEmpty { continue }
                runs = keptRuns
            }
            if pieces.count > 1 { pieces.literal(",") }
            pieces.literal(JSONValue.string(property.key).serialized() + [UInt8(ascii: ":")])
            if property.key == "meta" {
                pieces.literal(taggedMeta)
            } else if let runs {
                pieces.literal("[")
                for (index, run) in runs.enumerated() {
                    if index > 0 { pieces.literal(",") }
                    pieces.stored(run)
                }
                pieces.literal("]")
            } else {
                pieces.stored(property.value)
            }
        }
        pieces.literal("}")
        return pieces
    }

    /// The stored runs of kept elements of the `member` array at `value`, in order (empty when
    /// every element goes); nil when it is not an array or a dropped element is not between
    /// single commas or the brackets.
    private func memberList(_ value: Range<Int>) -> [Range<Int>]? {
        guard value.count >= 2, group.byte(at: value.lowerBound) == UInt8(ascii: "["),
              group.byte(at: value.upperBound - 1) == UInt8(ascii: "]") else { return nil }
        var runs: [Range<Int>] = []
        var start = value.lowerBound + 1
        for dropped in droppedMembers {
            let range = dropped.range
            guard range.lowerBound >= start, range.upperBound < value.upperBound else { return nil }
            let before = group.byte(at: range.lowerBound - 1), after = group.byte(at: range.upperBound)
            guard before == UInt8(ascii: ",") || (before == UInt8(ascii: "[") && range.lowerBound - 1 == value.lowerBound),
                  after == UInt8(ascii: ",") || (after == UInt8(ascii: "]") && range.upperBound == value.upperBound - 1) else { return nil }
            // The run before it ends before its comma (or is empty when it is the first element).
            if range.lowerBound - 1 > start { runs.append(start..<(range.lowerBound - 1)) }
            start = range.upperBound + 1
        }
        if value.upperBound - 1 > start { runs.append(start..<(value.upperBound - 1)) }
        return runs
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
                        if dropped.first?.index == index {
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
