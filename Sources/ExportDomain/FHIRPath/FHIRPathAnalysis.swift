// FHIRPathAnalysis.swift
//
// Static (abstract) evaluation of an element-selection expression over the R4 type model,
// for a given resource type. Instead of JSON nodes it tracks which *kinds* of elements a
// result can contain: pairs (type, JSON property name), plus flags for elements the model
// does not describe (any JSON property may appear in stored data) and for computed values.
// The analysis is sound: every element the evaluator can select on any resource of that
// type is covered by the abstract result, because both use the same child-type function
// (`TypeGraph.childType`) and the same type tests.
//
// It is used to
//  * find the JSON property names under which a selected element can sit in a resource of
//    each type — the redaction fast path skips resources whose bytes contain none of them;
//  * reject expressions at configuration load that name an element no type has
//    (`Coverage.costToBenficiary`), that select the resource itself, or that yield computed
//    values (`exists()`) instead of elements.

struct FHIRPathAnalysis {
    /// Whether a result, used as a boolean, can be true.
    enum Truth: Equatable {
        case never
        case always
        case maybe
    }

    /// An abstract collection.
    struct AbstractSet {
        /// Packed (type << 32 | key id); key id 0 = the resource itself.
        var elements: Set<Int> = []
        /// May contain elements the model does not describe (unknown properties).
        var unknown = false
        /// May contain computed values (booleans, literals).
        var values = false
        /// Known to contain at least one item.
        var nonEmpty = false
        /// Whether it can be true in a boolean context (computed for boolean operations).
        var truth: Truth = .maybe
        /// Identifies a shared `descendants()` result, so filters over it are computed once
        /// (for every resource type that reaches `contained`, it is the same set).
        var sharedID: Int?

        var definitelyEmpty: Bool { elements.isEmpty && !unknown && !values }

        /// The truth of a collection that is not the result of a boolean operation.
        var collectionTruth: Truth { definitelyEmpty ? .never : .maybe }
    }

    /// A problem found in the expression.
    struct Problem: Error {
        var position: Int
        var message: String
    }

    static let rootKey = 0

    let graph = R4Model.graph
    var keyNames: [String] { graph.keyNames }

    /// Member nodes evaluated on known elements only, and those that found something.
    private var memberEvaluated: [Int: String] = [:]
    private var memberFound: Set<Int> = []
    /// where/exists criteria truth per (criteria node, subject type); subject: type id,
    /// `unknownSubject` or `valueSubject`.
    private var criteriaMemo: [Int: [Int8]] = [:]
    /// `descendants()` results by the set of types reached (bitmap).
    private var descendantsMemo: [[UInt64]: AbstractSet] = [:]
    /// `where()` results over shared sets, by (criteria node, shared set).
    private var sharedFilterMemo: [[Int]: AbstractSet] = [:]
    private var unknownSubject: Int { graph.names.count }
    private var valueSubject: Int { graph.names.count + 1 }

    init() {}

    @inline(__always)
    static func pack(_ type: Int, _ key: Int) -> Int { (type << 32) | key }
    @inline(__always)
    static func type(of element: Int) -> Int { element >> 32 }
    @inline(__always)
    static func key(of element: Int) -> Int { element & 0xFFFF_FFFF }

    /// The key id of a property name; names no type has get 0 (they never produce elements).
    func keyID(_ name: String) -> Int {
        graph.keyIDs[name] ?? 0
    }

    /// The abstract result of `expression` on a resource of type `rootType`.
    mutating func analyze(_ expression: FHIRPathExpression, rootType: Int) -> AbstractSet {
        var context = AbstractSet()
        context.elements.insert(Self.pack(rootType, Self.rootKey))
        context.nonEmpty = true
        return evaluate(expression.root, context)
    }

    /// After analysing for every root type: the first member step that never found an element
    /// although it was applied to known elements.
    func unknownMemberProblem(_ expression: FHIRPathExpression) -> Problem? {
        var best: Problem?
        visit(expression.root) { node in
            guard case .member(_, let name) = node.kind, let onType = memberEvaluated[node.id],
                  !memberFound.contains(node.id) else { return }
            if best == nil || node.position < best!.position {
                best = Problem(position: node.position, message: "unknown element '\(name)' on \(onType)")
            }
        }
        return best
    }

    private func visit(_ node: FHIRPathNode, _ body: (FHIRPathNode) -> Void) {
        body(node)
        switch node.kind {
        case .this, .literal: break
        case .member(let base, _), .typeFilter(let base, _), .typeFunction(let base, _, _):
            if let base { visit(base, body) }
        case .function(let base, _, let argument):
            if let base { visit(base, body) }
            if let argument { visit(argument, body) }
        case .typeOperator(let operand, _, _):
            visit(operand, body)
        case .binary(_, let l, let r):
            visit(l, body)
            visit(r, body)
        }
    }

    // MARK: Abstract evaluation

    private mutating func evaluate(_ node: FHIRPathNode, _ context: AbstractSet) -> AbstractSet {
        switch node.kind {
        case .this:
            var result = context
            result.truth = .maybe
            return result

        case .literal(let literal):
            var result = AbstractSet()
            result.values = true
            result.nonEmpty = true
            if case .boolean(let b) = literal { result.truth = b ? .always : .never } else { result.truth = .always }
            return result

        case .member(let base, let name):
            let input = base.map { evaluate($0, context) } ?? context
            return member(input, name, node)

        case .typeFilter(let base, let type):
            let input = base.map { evaluate($0, context) } ?? context
            var result = AbstractSet()
            if let t = type.fhirType {
                result.elements = input.elements.filter { graph.isA(Self.type(of: $0), t) }
            }
            result.truth = result.collectionTruth
            return result

        case .function(let base, let function, let argument):
            let input = base.map { evaluate($0, context) } ?? context
            switch function {
            case .children:
                return children(input)
            case .descendants:
                return descendants(input)
            case .where:
                guard let argument else { return input }
                var result = filter(input, argument)
                result.nonEmpty = false
                result.truth = result.collectionTruth
                return result
            case .exists:
                let filtered = argument.map { filter(input, $0) } ?? input
                var result = AbstractSet()
                result.values = true
                result.nonEmpty = true
                result.truth = filtered.definitelyEmpty ? .never : (argument == nil && filtered.nonEmpty ? .always : .maybe)
                return result
            case .empty:
                var result = AbstractSet()
                result.values = true
                result.nonEmpty = true
                result.truth = input.definitelyEmpty ? .always : (input.nonEmpty ? .never : .maybe)
                return result
            case .first:
                var result = input
                result.truth = input.truth == .never ? .never : .maybe
                return result
            case .not:
                var result = AbstractSet()
                result.values = !input.definitelyEmpty
                result.truth = input.definitelyEmpty || input.truth == .always ? .never : .maybe
                return result
            case .ofType, .is, .as:
                return AbstractSet()
            }

        case .typeFunction(let base, let function, let type):
            let input = base.map { evaluate($0, context) } ?? context
            if function == .is { return typeTest(input, type) }
            var result = filterType(input, type)
            result.nonEmpty = false
            result.truth = result.collectionTruth
            return result

        case .typeOperator(let operand, let isOperator, let type):
            let input = evaluate(operand, context)
            if isOperator { return typeTest(input, type) }
            var result = filterType(input, type)
            result.nonEmpty = false
            result.truth = result.collectionTruth
            return result

        case .binary(let op, let lhs, let rhs):
            let left = evaluate(lhs, context)
            let right = evaluate(rhs, context)
            switch op {
            case .union:
                var result = left
                result.sharedID = nil
                result.elements.formUnion(right.elements)
                result.unknown = left.unknown || right.unknown
                result.values = left.values || right.values
                result.nonEmpty = left.nonEmpty || right.nonEmpty
                result.truth = result.collectionTruth
                return result
            case .equals, .notEquals:
                var result = AbstractSet()
                let empty = left.definitelyEmpty || right.definitelyEmpty
                result.values = !empty
                result.truth = empty ? .never : .maybe
                return result
            case .and:
                var result = AbstractSet()
                result.values = true
                let l = left.truth, r = right.truth
                result.truth = l == .never || r == .never ? .never : (l == .always && r == .always ? .always : .maybe)
                return result
            case .or:
                var result = AbstractSet()
                result.values = true
                let l = left.truth, r = right.truth
                result.truth = l == .always || r == .always ? .always : (l == .never && r == .never ? .never : .maybe)
                return result
            }
        }
    }

    // MARK: Navigation

    /// Adds `(type, key)`; a `Resource`-typed element may be any resource type (or one the model
    /// does not know).
    private mutating func add(_ type: Int, _ key: Int, to result: inout AbstractSet) {
        result.elements.insert(Self.pack(type, key))
        if graph.isAbstractResource[type] {
            for r in graph.resourceTypeIDs { result.elements.insert(Self.pack(r, key)) }
            result.unknown = true
        }
    }

    private mutating func member(_ input: AbstractSet, _ name: String, _ node: FHIRPathNode) -> AbstractSet {
        var result = AbstractSet()
        let key = keyID(name)
        var knownTypes: [Int] = []
        for element in input.elements {
            let t = Self.type(of: element)
            knownTypes.append(t)
            if let alternatives = graph.choices[t][name] {
                for alternative in alternatives {
                    add(alternative.type, keyID(alternative.key), to: &result)
                }
                continue
            }
            let child = graph.childType(t, name)
            if child != graph.unknown { add(child, key, to: &result) }
        }
        if input.unknown {
            if name == "extension" || name == "modifierExtension" {
                add(graph.extensionType, key, to: &result)
            } else {
                result.unknown = true
            }
        }
        if !knownTypes.isEmpty && !input.unknown && memberEvaluated[node.id] == nil {
            memberEvaluated[node.id] = knownTypes.map { graph.displayName($0) }.sorted().first!
        }
        if !result.elements.isEmpty { memberFound.insert(node.id) }
        result.truth = result.collectionTruth
        return result
    }

    private mutating func children(_ input: AbstractSet) -> AbstractSet {
        var result = AbstractSet()
        for element in input.elements {
            addChildren(of: Self.type(of: element), to: &result)
        }
        if !input.definitelyEmpty || input.unknown {
            addUnknownChildren(to: &result)
        }
        result.truth = result.collectionTruth
        return result
    }

    /// Any element can have properties the model does not know; `extension` and
    /// `modifierExtension` are Extensions wherever they appear.
    private mutating func addUnknownChildren(to result: inout AbstractSet) {
        result.unknown = true
        add(graph.extensionType, keyID("extension"), to: &result)
        add(graph.extensionType, keyID("modifierExtension"), to: &result)
    }

    private mutating func addChildren(of type: Int, to result: inout AbstractSet) {
        for edge in graph.childEdges[type] {
            add(Self.type(of: edge), Self.key(of: edge), to: &result)
        }
    }

    private mutating func descendants(_ input: AbstractSet) -> AbstractSet {
        if input.definitelyEmpty { return AbstractSet() }
        // The types reached: a breadth-first walk over the type graph. Unknown properties can
        // appear anywhere, and their extensions are Extensions.
        let count = graph.names.count
        var visited = [UInt64](repeating: 0, count: (count + 63) / 64)
        var queue: [Int] = []
        queue.reserveCapacity(count)
        func enqueue(_ t: Int) {
            let (word, bit) = (t >> 6, UInt64(1) << UInt64(t & 63))
            if visited[word] & bit == 0 {
                visited[word] |= bit
                queue.append(t)
            }
        }
        for element in input.elements { enqueue(Self.type(of: element)) }
        enqueue(graph.extensionType)
        var head = 0
        var reachesResource = false
        while head < queue.count {
            let t = queue[head]
            head += 1
            for edge in graph.childEdges[t] {
                let c = Self.type(of: edge)
                enqueue(c)
                if graph.isAbstractResource[c] && !reachesResource {
                    reachesResource = true
                    for r in graph.resourceTypeIDs { enqueue(r) }
                }
            }
        }
        if let cached = descendantsMemo[visited] { return cached }
        // The elements: every property of every type reached.
        var result = AbstractSet()
        addUnknownChildren(to: &result)
        for t in queue {
            for edge in graph.childEdges[t] {
                result.elements.insert(edge)
                if graph.isAbstractResource[Self.type(of: edge)] {
                    result.unknown = true
                    let key = Self.key(of: edge)
                    for r in graph.resourceTypeIDs { result.elements.insert(Self.pack(r, key)) }
                }
            }
        }
        result.truth = result.collectionTruth
        result.sharedID = descendantsMemo.count
        descendantsMemo[visited] = result
        return result
    }

    // MARK: Filters and type tests

    /// `where(criteria)`: keeps the kinds of items for which the criteria can be true.
    private mutating func filter(_ input: AbstractSet, _ criteria: FHIRPathNode) -> AbstractSet {
        if let shared = input.sharedID, let cached = sharedFilterMemo[[criteria.id, shared]] { return cached }
        var result = AbstractSet()
        // Truth per element type, computed once per type.
        var truths: [Int: Truth] = [:]
        for element in input.elements {
            let t = Self.type(of: element)
            let truth: Truth
            if let known = truths[t] {
                truth = known
            } else {
                truth = criteriaTruth(criteria, subject: t)
                truths[t] = truth
            }
            if truth != .never { result.elements.insert(element) }
        }
        if input.unknown && criteriaTruth(criteria, subject: unknownSubject) != .never { result.unknown = true }
        if input.values && criteriaTruth(criteria, subject: valueSubject) != .never { result.values = true }
        if let shared = input.sharedID { sharedFilterMemo[[criteria.id, shared]] = result }
        return result
    }

    private mutating func criteriaTruth(_ criteria: FHIRPathNode, subject: Int) -> Truth {
        if let memo = criteriaMemo[criteria.id], memo[subject] >= 0 {
            return memo[subject] == 0 ? .never : memo[subject] == 1 ? .always : .maybe
        }
        var context = AbstractSet()
        context.nonEmpty = true
        if subject == unknownSubject {
            context.unknown = true
        } else if subject == valueSubject {
            context.values = true
        } else {
            context.elements.insert(Self.pack(subject, Self.rootKey))
        }
        let truth = evaluate(criteria, context).truth
        var memo = criteriaMemo[criteria.id] ?? [Int8](repeating: -1, count: graph.names.count + 2)
        memo[subject] = truth == .never ? 0 : truth == .always ? 1 : 2
        criteriaMemo[criteria.id] = memo
        return truth
    }

    /// Whether elements of type `type` (or unknown elements, `type == nil`) match.
    private func matches(_ type: Int?, _ spec: FHIRPathTypeSpecifier) -> Bool {
        let t = type ?? graph.unknown
        if graph.kinds[t] == .system {
            guard spec.namespace != .fhir, let systemName = spec.systemName else { return false }
            return graph.names[t] == "System." + systemName
        }
        guard spec.namespace != .system, let fhirType = spec.fhirType else { return false }
        return graph.isA(t, fhirType)
    }

    private func filterType(_ input: AbstractSet, _ spec: FHIRPathTypeSpecifier) -> AbstractSet {
        var result = AbstractSet()
        result.elements = input.elements.filter { matches(Self.type(of: $0), spec) }
        result.unknown = input.unknown && matches(nil, spec)
        result.values = input.values && spec.namespace != .fhir && spec.systemName != nil
        return result
    }

    private func typeTest(_ input: AbstractSet, _ spec: FHIRPathTypeSpecifier) -> AbstractSet {
        var result = AbstractSet()
        guard !input.definitelyEmpty else {
            result.truth = .never
            return result
        }
        result.values = true
        var anyMatch = false
        var anyMismatch = false
        for element in input.elements {
            if matches(Self.type(of: element), spec) { anyMatch = true } else { anyMismatch = true }
        }
        if input.unknown {
            if matches(nil, spec) { anyMatch = true } else { anyMismatch = true }
        }
        if input.values {
            anyMismatch = true
            if spec.namespace != .fhir && spec.systemName != nil { anyMatch = true }
        }
        result.truth = !anyMatch ? .never : (!anyMismatch && input.nonEmpty ? .always : .maybe)
        return result
    }
}
