// StreamingRedaction.swift
//
// Redaction on bytes: for the common `OmitElements` forms the redactor copies a resource's
// stored JSON and skips the removed members, tracking each value's model type on the way,
// instead of parsing it into a tree, evaluating FHIRPath and serialising again.
//
// Streamable expressions (unions of these):
//  * `descendants().where($this is T)` and `descendants().ofType(T)`, for a complex type T
//    that no primitive and no unknown element can be (Money, Quantity, Coding, …);
//  * member paths from the resource, optionally headed by a type (`Coverage.costToBeneficiary`,
//    `Patient.name.given`), whose steps are concrete keys (no choice base names such as
//    `value`) through complex, non-Resource elements.
// Any other expression makes the redactor use the tree path for every resource.
//
// The result is the tree path's result on the same bytes (the unit tests compare both on the
// FHIRPath corpus): the same elements removed, the same pruning (ElementRemoval.swift), the
// SUBSETTED tag added the same way, and every kept byte copied as stored. Where a removal
// would involve a primitive's `_name` companion (aligning `given` and `_given`, a companion
// left empty), and for keys written with escapes, the walk gives up and the caller takes the
// tree path — rare, so the walk stays simple.

struct StreamingRedaction: Sendable {
    enum Outcome: Equatable {
        /// Nothing is selected: write the stored bytes.
        case unchanged
        /// The redacted resource, SUBSETTED.
        case redacted([UInt8])
        /// The walk cannot decide; use the tree path.
        case needsTree
    }

    struct PathSelector: Sendable {
        /// The type named by the head step (`Coverage` in `Coverage.costToBeneficiary`); nil:
        /// the path applies to every resource type.
        var head: Int?
        var steps: [[UInt8]]
    }

    /// Per type id: whether an element of that type is removed (`descendants()` selections).
    let removesType: [Bool]
    let paths: [PathSelector]
    private let keys: ByteKeyTable
    /// `(parent type << 32) | key id` → child type, as `TypeGraph.childType` resolves it.
    private let childTypes: [Int: Int32]
    private let extensionKeyIDs: (Int, Int)
    private let resourceTypeKeyID: Int

    /// The streaming form of the expressions, or nil when one of them is not streamable.
    init?(_ expressions: [FHIRPathExpression]) {
        let graph = R4Model.graph
        var targets: [Int] = []
        var paths: [PathSelector] = []
        for expression in expressions {
            guard Self.collect(expression.root, graph: graph, targets: &targets, paths: &paths) else { return nil }
        }
        var removes = [Bool](repeating: false, count: graph.names.count)
        for type in graph.names.indices where graph.kinds[type] != .system {
            removes[type] = targets.contains { graph.isA(type, $0) }
        }
        removesType = removes
        self.paths = paths
        // `resourceType` is no element, but the walk must recognise it (contained resources).
        let knownResourceTypeKey = graph.keyIDs["resourceType"]
        keys = ByteKeyTable(knownResourceTypeKey == nil ? graph.keyNames + ["resourceType"] : graph.keyNames)
        var childTypes: [Int: Int32] = [:]
        for (parent, edges) in graph.childEdges.enumerated() {
            for edge in edges {
                childTypes[(parent << 32) | (edge & 0xFFFF_FFFF)] = Int32(truncatingIfNeeded: edge >> 32)
            }
        }
        self.childTypes = childTypes
        extensionKeyIDs = (graph.keyIDs["extension"] ?? -1, graph.keyIDs["modifierExtension"] ?? -1)
        resourceTypeKeyID = knownResourceTypeKey ?? graph.keyNames.count
    }

    // MARK: Which expressions stream

    private static func collect(_ node: FHIRPathNode, graph: TypeGraph, targets: inout [Int], paths: inout [PathSelector]) -> Bool {
        switch node.kind {
        case .binary(.union, let left, let right):
            return collect(left, graph: graph, targets: &targets, paths: &paths)
                && collect(right, graph: graph, targets: &targets, paths: &paths)
        case .function(let base, .where, let argument?):
            guard isDescendantsOfRoot(base), let type = FHIRPathEvaluator.thisTypeTest(argument),
                  let target = streamableTarget(type, graph: graph) else { return false }
            targets.append(target)
            return true
        case .typeFunction(let base, .ofType, let type):
            guard isDescendantsOfRoot(base), let target = streamableTarget(type, graph: graph) else { return false }
            targets.append(target)
            return true
        case .member:
            guard let path = memberPath(node), isStreamable(path, graph: graph) else { return false }
            paths.append(path)
            return true
        default:
            return false
        }
    }

    private static func isDescendantsOfRoot(_ node: FHIRPathNode?) -> Bool {
        guard let node, case .function(let base, .descendants, nil) = node.kind else { return false }
        if let base, case .this = base.kind { return true }
        return base == nil
    }

    /// A type whose elements can be removed without touching primitives or their companions.
    private static func streamableTarget(_ type: FHIRPathTypeSpecifier, graph: TypeGraph) -> Int? {
        guard type.namespace != .system, let target = type.fhirType else { return nil }
        if let systemName = type.systemName, graph.ids["System." + systemName] != nil { return nil }
        if graph.isA(graph.unknown, target) { return nil }
        for id in graph.names.indices where graph.kinds[id] == .fhir && isPrimitive(graph.names[id]) {
            if graph.isA(id, target) { return nil }
        }
        return target
    }

    private static func isPrimitive(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        return first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")
    }

    private static func memberPath(_ node: FHIRPathNode) -> PathSelector? {
        var steps: [[UInt8]] = []
        var current: FHIRPathNode? = node
        while let n = current {
            switch n.kind {
            case .member(let base, let name):
                steps.append(Array(name.utf8))
                current = base
            case .typeFilter(nil, let type):
                guard type.namespace != .system, let head = type.fhirType else { return nil }
                return PathSelector(head: head, steps: steps.reversed())
            default:
                return nil
            }
        }
        return PathSelector(head: nil, steps: steps.reversed())
    }

    /// Every step a concrete key, every step but the last a complex, non-Resource element, for
    /// every resource type the path applies to.
    private static func isStreamable(_ path: PathSelector, graph: TypeGraph) -> Bool {
        guard !path.steps.isEmpty else { return false }
        for root in graph.resourceTypeIDs where path.head.map({ graph.isA(root, $0) }) ?? true {
            var type = root
            for (index, step) in path.steps.enumerated() {
                let name = String(decoding: step, as: UTF8.self)
                if graph.choices[type][name] != nil || name == "resourceType" { return false }
                type = graph.childType(type, name)
                if index < path.steps.count - 1 {
                    if graph.kinds[type] == .system || graph.isAbstractResource[type] { return false }
                    if graph.kinds[type] == .fhir && isPrimitive(graph.names[type]) { return false }
                }
            }
        }
        return true
    }

    // MARK: The walk

    /// Redacts one resource of the given model type.
    func redact(_ json: [UInt8], rootType: Int) -> Outcome {
        json.withUnsafeBytes { buffer in
            var walker = RedactionWalker(plan: self, scanner: ResourceScan.Scanner(buffer))
            do throws(NeedsTree) {
                walker.scanner.skipWhitespace()
                guard walker.peek() == UInt8(ascii: "{") else { return .needsTree }
                var cursors: [PathCursor] = []
                for (index, path) in paths.enumerated() where path.head.map({ R4Model.graph.isA(rootType, $0) }) ?? true {
                    cursors.append(PathCursor(path: index, step: 0))
                }
                _ = try walker.object(type: rootType, cursors: cursors, isExtension: false, depth: 0)
                walker.scanner.skipWhitespace()
                guard walker.scanner.position == buffer.count else { return .needsTree }
            } catch {
                return .needsTree
            }
            guard walker.changed else { return .unchanged }
            guard let tagged = SubsettedTagOnBytes.adding(to: walker.out) else { return .needsTree }
            return .redacted(tagged)
        }
    }

    /// Redacts one part as the whole-resource walk would. The caller owns the rules that span
    /// parts: the SUBSETTED tag, an array property left without items, and a part that changes
    /// next to its `_name` companion (a change to `name` when the resource also has `_name`
    /// needs the tree).
    func redactPart(rootType: Int, key: String, value: [UInt8], isArrayItem: Bool) -> Redactor.PartOutcome {
        if key.utf8.first == UInt8(ascii: "_") || key == "resourceType" {
            return key == "resourceType" ? .unchanged : .needsTree
        }
        let keyBytes = Array(key.utf8)
        let keyID = keyBytes.withUnsafeBytes { self.keyID($0) }
        let type = childType(rootType, keyID)
        var selectedByPath = false
        var cursors: [PathCursor] = []
        for (index, path) in paths.enumerated() where path.head.map({ R4Model.graph.isA(rootType, $0) }) ?? true {
            guard path.steps[0] == keyBytes else { continue }
            if path.steps.count == 1 { selectedByPath = true } else { cursors.append(PathCursor(path: index, step: 1)) }
        }
        return value.withUnsafeBytes { buffer -> Redactor.PartOutcome in
            var walker = RedactionWalker(plan: self, scanner: ResourceScan.Scanner(buffer))
            do throws(NeedsTree) {
                walker.scanner.skipWhitespace()
                let outcome: Redactor.PartOutcome
                if selectedByPath {
                    outcome = try (isArrayItem ? walker.peek() != UInt8(ascii: "n") : walker.yieldsElement()) ? .removed : .unchanged
                } else {
                    outcome = try walker.part(type: type, cursors: cursors, isArrayItem: isArrayItem,
                                              itemsAreExtensions: isExtensionKey(keyID))
                }
                if case .removed = outcome { return .removed }
                walker.scanner.skipWhitespace()
                guard walker.scanner.position == buffer.count else { return .needsTree }
                return outcome
            } catch {
                return .needsTree
            }
        }
    }

    @inline(__always)
    fileprivate func childType(_ parent: Int, _ keyID: Int?) -> Int {
        guard let keyID else { return R4Model.graph.unknown }
        if keyID == extensionKeyIDs.0 || keyID == extensionKeyIDs.1 { return R4Model.graph.extensionType }
        return childTypes[(parent << 32) | keyID].map(Int.init) ?? R4Model.graph.unknown
    }

    fileprivate func keyID(_ bytes: UnsafeRawBufferPointer) -> Int? { keys.id(of: bytes) }
    fileprivate func isExtensionKey(_ keyID: Int?) -> Bool { keyID == extensionKeyIDs.0 || keyID == extensionKeyIDs.1 }
    fileprivate var resourceTypeKey: Int { resourceTypeKeyID }
}

/// Where a member path stands in an object: the next key it needs is `steps[step]`.
struct PathCursor {
    var path: Int
    var step: Int
}

struct NeedsTree: Error {}

struct RedactionWalker {
    let plan: StreamingRedaction
    var scanner: ResourceScan.Scanner<UnsafeRawBufferPointer>
    var out: [UInt8] = []
    var changed = false
    let graph = R4Model.graph

    init(plan: StreamingRedaction, scanner: ResourceScan.Scanner<UnsafeRawBufferPointer>) {
        self.plan = plan
        self.scanner = scanner
        out.reserveCapacity(scanner.count)
    }

    struct ObjectOutcome {
        /// Something was removed at some depth below.
        var touched = false
        /// Touched and left invalid by it (ElementRemoval.isPrunable).
        var prunable = false
    }

    struct ArrayOutcome {
        var touched = false
        /// Touched and left with no item other than nulls: the member goes.
        var empty = false
    }

    @inline(__always)
    func peek() -> UInt8? {
        scanner.position < scanner.count ? scanner.source[scanner.position] : nil
    }

    private var input: UnsafeRawBufferPointer { scanner.source }

    /// Copies the value at the current position unchanged. The output is compact, as the tree
    /// path's serialisation: a copied array with whitespace in it goes to the tree.
    private mutating func copyValue() throws(NeedsTree) {
        let start = scanner.position
        guard scanner.skipValue() else { throw NeedsTree() }
        let value = UnsafeRawBufferPointer(rebasing: input[start..<scanner.position])
        if value.first == UInt8(ascii: "[") || value.first == UInt8(ascii: "{"),
           value.contains(where: { ResourceScan.Scanner<UnsafeRawBufferPointer>.isWhitespace($0) }) {
            throw NeedsTree()
        }
        out.append(contentsOf: value)
    }

    private mutating func skipValue() throws(NeedsTree) {
        guard scanner.skipValue() else { throw NeedsTree() }
    }

    /// A value never descended into: skipped when its type is removed (returns true), else copied.
    private mutating func skipOrCopy(_ type: Int) throws(NeedsTree) -> Bool {
        guard plan.removesType[type] else {
            try copyValue()
            return false
        }
        try skipValue()
        return true
    }

    private mutating func expect(_ byte: UInt8) throws(NeedsTree) {
        scanner.skipWhitespace()
        guard scanner.consume(byte) else { throw NeedsTree() }
        scanner.skipWhitespace()
    }

    /// A key without escapes: the bytes between its quotes.
    private mutating func key() throws(NeedsTree) -> Range<Int> {
        guard let range = scanner.stringRange() else { throw NeedsTree() }
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        if input[inner].contains(UInt8(ascii: "\\")) { throw NeedsTree() }
        return inner
    }

    /// The type of an object of declared type `type` at the current position: a Resource-typed
    /// element takes the type its `resourceType` names (as the evaluator's `refine`).
    private func refined(_ type: Int) throws(NeedsTree) -> Int {
        guard graph.isAbstractResource[type], peek() == UInt8(ascii: "{") else { return type }
        var probe = scanner
        probe.position += 1
        probe.skipWhitespace()
        if probe.consume(UInt8(ascii: "}")) { return type }
        while true {
            guard let range = probe.stringRange() else { throw NeedsTree() }
            probe.skipWhitespace()
            guard probe.consume(UInt8(ascii: ":")) else { throw NeedsTree() }
            probe.skipWhitespace()
            let name = UnsafeRawBufferPointer(rebasing: input[(range.lowerBound + 1)..<(range.upperBound - 1)])
            if plan.keyID(name) == plan.resourceTypeKey {
                guard probe.position < probe.count, input[probe.position] == UInt8(ascii: "\"") else { return type }
                let start = probe.position
                guard let value = probe.stringRange() else { throw NeedsTree() }
                let text = UnsafeRawBufferPointer(rebasing: input[(start + 1)..<(value.upperBound - 1)])
                if text.contains(UInt8(ascii: "\\")) { throw NeedsTree() }
                return graph.resourceTypeID(String(decoding: text, as: UTF8.self)) ?? graph.unknown
            }
            guard probe.skipValue() else { throw NeedsTree() }
            probe.skipWhitespace()
            if probe.consume(UInt8(ascii: ",")) { probe.skipWhitespace(); continue }
            return type
        }
    }

    /// Copies the object at the current position, leaving out what is removed.
    mutating func object(type: Int, cursors: [PathCursor], isExtension: Bool, depth: Int) throws(NeedsTree) -> ObjectOutcome {
        guard depth < JSONParser.maximumDepth else { throw NeedsTree() }
        try expect(UInt8(ascii: "{"))
        out.append(UInt8(ascii: "{"))
        var outcome = ObjectOutcome()
        var kept = 0
        var keptOnlyID = false
        var keptValueOrExtension = false
        // Base names touched, and companions present: a removal next to a companion goes to the tree.
        var touchedBases: [Range<Int>] = []
        var companions: [Range<Int>] = []
        if scanner.consume(UInt8(ascii: "}")) {
            out.append(UInt8(ascii: "}"))
            return outcome
        }
        while true {
            let memberStart = out.count
            if kept > 0 { out.append(UInt8(ascii: ",")) }
            let keyRange = try key()
            try expect(UInt8(ascii: ":"))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[keyRange]))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            let isCompanion = input[keyRange.lowerBound] == UInt8(ascii: "_")
            let baseRange = isCompanion ? (keyRange.lowerBound + 1)..<keyRange.upperBound : keyRange
            let base = UnsafeRawBufferPointer(rebasing: input[baseRange])
            let keyID = plan.keyID(base)
            let childType = plan.childType(type, keyID)

            var selectedByPath = false
            var childCursors: [PathCursor] = []
            for cursor in cursors where plan.paths[cursor.path].steps[cursor.step].elementsEqual(base) {
                if cursor.step + 1 == plan.paths[cursor.path].steps.count {
                    selectedByPath = true
                } else {
                    childCursors.append(PathCursor(path: cursor.path, step: cursor.step + 1))
                }
            }

            var remove = false
            var touched = false
            if isCompanion {
                // A companion's extensions are walked for what they hold; any removal there is
                // the tree's (value and companion stay aligned).
                if selectedByPath || !childCursors.isEmpty { throw NeedsTree() }
                companions.append(baseRange)
                if try value(type: childType, cursors: [], itemsAreExtensions: false, depth: depth) { throw NeedsTree() }
            } else if selectedByPath {
                if try yieldsElement() {
                    try skipValue()
                    remove = true
                } else {
                    try copyValue()
                }
            } else if keyID == plan.resourceTypeKey {
                // Not an element (the evaluator skips it); anything but a string is the tree's.
                guard peek() == UInt8(ascii: "\"") else { throw NeedsTree() }
                try copyValue()
            } else {
                switch peek() {
                case UInt8(ascii: "{"):
                    let itemType = try refined(childType)
                    if plan.removesType[itemType] {
                        try skipValue()
                        remove = true
                    } else {
                        let child = try object(type: itemType, cursors: childCursors, isExtension: false, depth: depth + 1)
                        touched = child.touched
                        remove = child.prunable
                    }
                case UInt8(ascii: "["):
                    let items = try array(type: childType, cursors: childCursors, itemsAreExtensions: plan.isExtensionKey(keyID), depth: depth + 1)
                    touched = items.touched
                    remove = items.empty
                case UInt8(ascii: "n"):
                    try copyValue()
                default:
                    remove = try skipOrCopy(childType)
                }
            }
            if remove {
                out.removeSubrange(memberStart...)
                outcome.touched = true
                changed = true
                touchedBases.append(baseRange)
            } else {
                if touched {
                    outcome.touched = true
                    touchedBases.append(baseRange)
                }
                kept += 1
                keptOnlyID = kept == 1 && !isCompanion && base.elementsEqual("id".utf8)
                if !keptValueOrExtension, isExtension {
                    keptValueOrExtension = base.elementsEqual("extension".utf8) || Self.isChoiceValue(base)
                }
            }
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: ",")) {
                scanner.skipWhitespace()
                continue
            }
            guard scanner.consume(UInt8(ascii: "}")) else { throw NeedsTree() }
            break
        }
        out.append(UInt8(ascii: "}"))
        if outcome.touched {
            for touched in touchedBases where companions.contains(where: { input[$0].elementsEqual(input[touched]) }) {
                throw NeedsTree()
            }
            outcome.prunable = kept == 0 || (kept == 1 && keptOnlyID) || (isExtension && !keptValueOrExtension)
        }
        return outcome
    }

    /// `value[A-Z]…`: an extension's value (ElementRemoval.isPrunable).
    private static func isChoiceValue(_ name: UnsafeRawBufferPointer) -> Bool {
        guard name.count > 5, name.starts(with: "value".utf8) else { return false }
        return name[5] >= UInt8(ascii: "A") && name[5] <= UInt8(ascii: "Z")
    }

    /// Copies the array at the current position, leaving out removed and pruned items.
    private mutating func array(type: Int, cursors: [PathCursor], itemsAreExtensions: Bool, depth: Int) throws(NeedsTree) -> ArrayOutcome {
        guard depth < JSONParser.maximumDepth else { throw NeedsTree() }
        try expect(UInt8(ascii: "["))
        out.append(UInt8(ascii: "["))
        var outcome = ArrayOutcome()
        var keptItems = 0
        var keptNonNull = 0
        if scanner.consume(UInt8(ascii: "]")) {
            out.append(UInt8(ascii: "]"))
            return outcome
        }
        while true {
            let itemStart = out.count
            if keptItems > 0 { out.append(UInt8(ascii: ",")) }
            var remove = false
            var isNull = false
            switch peek() {
            case UInt8(ascii: "{"):
                let itemType = try refined(type)
                if plan.removesType[itemType] {
                    try skipValue()
                    remove = true
                } else {
                    let item = try object(type: itemType, cursors: cursors, isExtension: itemsAreExtensions, depth: depth + 1)
                    if item.touched { outcome.touched = true }
                    remove = item.prunable
                }
            case UInt8(ascii: "n"):
                try copyValue()
                isNull = true
            default:
                // Scalars and nested arrays: elements of the declared type, never descended into.
                remove = try skipOrCopy(type)
            }
            if remove {
                out.removeSubrange(itemStart...)
                outcome.touched = true
                changed = true
            } else {
                keptItems += 1
                if !isNull { keptNonNull += 1 }
            }
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: ",")) {
                scanner.skipWhitespace()
                continue
            }
            guard scanner.consume(UInt8(ascii: "]")) else { throw NeedsTree() }
            break
        }
        out.append(UInt8(ascii: "]"))
        outcome.empty = outcome.touched && keptNonNull == 0
        return outcome
    }

    /// Walks a companion's value (an object, or an array of objects and nulls); returns
    /// whether anything in it would be removed.
    private mutating func value(type: Int, cursors: [PathCursor], itemsAreExtensions: Bool, depth: Int) throws(NeedsTree) -> Bool {
        switch peek() {
        case UInt8(ascii: "{"):
            return try object(type: type, cursors: cursors, isExtension: itemsAreExtensions, depth: depth + 1).touched
        case UInt8(ascii: "["):
            return try array(type: type, cursors: cursors, itemsAreExtensions: itemsAreExtensions, depth: depth + 1).touched
        default:
            try copyValue()
            return false
        }
    }

    /// One part (see `StreamingRedaction.redactPart`), not selected by a path.
    mutating func part(type: Int, cursors: [PathCursor], isArrayItem: Bool, itemsAreExtensions: Bool) throws(NeedsTree) -> Redactor.PartOutcome {
        switch peek() {
        case UInt8(ascii: "{"):
            let itemType = try refined(type)
            if plan.removesType[itemType] { return .removed }
            let object = try object(type: itemType, cursors: cursors, isExtension: isArrayItem && itemsAreExtensions, depth: 1)
            if object.prunable { return .removed }
            return object.touched ? .replaced(out) : .unchanged
        case UInt8(ascii: "["):
            if isArrayItem {
                if plan.removesType[type] { return .removed }
                try copyValue()
                return .unchanged
            }
            let items = try array(type: type, cursors: cursors, itemsAreExtensions: itemsAreExtensions, depth: 1)
            if items.empty { return .removed }
            return items.touched ? .replaced(out) : .unchanged
        case UInt8(ascii: "n"):
            try copyValue()
            return .unchanged
        default:
            if plan.removesType[type] { return .removed }
            try copyValue()
            return .unchanged
        }
    }

    /// Whether a path-selected value holds an element: not null, not an array of nulls only.
    func yieldsElement() throws(NeedsTree) -> Bool {
        switch peek() {
        case UInt8(ascii: "n"):
            return false
        case UInt8(ascii: "["):
            var probe = scanner
            probe.position += 1
            while true {
                probe.skipWhitespace()
                guard probe.position < probe.count else { throw NeedsTree() }
                switch input[probe.position] {
                case UInt8(ascii: "]"): return false
                case UInt8(ascii: "n"): guard probe.skipValue() else { throw NeedsTree() }
                default: return true
                }
                probe.skipWhitespace()
                _ = probe.consume(UInt8(ascii: ","))
            }
        default:
            return true
        }
    }
}
