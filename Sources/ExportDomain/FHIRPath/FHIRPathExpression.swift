// FHIRPathExpression.swift
//
// A compiled element-selection expression and its evaluation over a FHIR resource held as a
// `JSONObject`. Every node knows its FHIR type, derived from the R4 model while walking from
// the resource type (see R4Model.swift), and its location in the JSON document, so selected
// elements can be removed.
//
// Semantics (FHIRPath N1 where it matters for selecting elements):
//  * Collections are flattened: `Patient.name.given` yields every given name.
//  * A primitive element is one node made of its value and its `_name` companion (id,
//    extension); it has a value-less node when only the companion exists. `children()`/
//    `descendants()` of a primitive are the companion's `id` and `extension`.
//  * `resourceType` is not an element.
//  * Choice types: `value` finds the first present `valueX` in the model's type order and the
//    node has type X's definition (`Coverage.costToBeneficiary.value` → Money or
//    SimpleQuantity). The concrete name (`valueMoney`) can be navigated too.
//  * Contained resources (and other `Resource`-typed elements) take the type of their
//    `resourceType`.
//  * `|` removes duplicate *elements* by location (two different elements with equal values
//    both stay: a redaction must remove both) and duplicate computed values by equality.
//  * `=`/`!=`: empty if either side is empty; otherwise collections are equal when they have
//    the same size and items are pairwise equal: strings, booleans, numbers by value (1.0 = 1),
//    date/time values by their text, complex elements recursively (member order ignored).
//    Values of different kinds (a date and a string) are not equal.
//  * Boolean contexts (`where` criteria, `and`, `or`, `not()`): empty → empty, a single
//    boolean → itself, a single other item → true, several items → evaluation error (but
//    `not()` of several items is empty, like fhirpathpy).
//  * `is`/`as` on several items is an evaluation error; on none it is empty.
//  * Type tests respect the hierarchy (`SimpleQuantity` is a `Quantity`, `code` is a
//    `string`, `Patient` is a `DomainResource`); a BackboneElement (and an element the model
//    does not know) is a `BackboneElement`; FHIR primitives are not System types
//    (`Patient.active is Boolean` is false, `is boolean` is true), element ids and
//    `Extension.url` are `System.String`.

/// One step of a location in a JSON document.
public enum JSONPathComponent: Hashable, Sendable, CustomStringConvertible {
    case key(String)
    case index(Int)

    public var description: String {
        switch self {
        case .key(let k): return k
        case .index(let i): return "[\(i)]"
        }
    }
}

/// An element selected by an expression.
public struct FHIRPathElement: Sendable, Equatable {
    /// Where the element is: the keys and array indices from the resource root. For a
    /// primitive without a value (only its `_name` companion), the location of the companion.
    public var location: [JSONPathComponent]
    /// The JSON value; `nil` for a primitive that only has a `_name` companion.
    public var value: JSONValue?
    /// The `_name` companion of a primitive (id, extension), if any.
    public var companion: JSONValue?
    /// The model type ("Money", "string", "System.String", "Patient",
    /// "Coverage.costToBeneficiary" for a BackboneElement, "?" for an unknown element).
    public var typeName: String
}

/// A value computed by an expression (not an element of the resource).
public enum FHIRPathValue: Sendable, Equatable, Hashable {
    case boolean(Bool)
    case string(String)
    /// A number literal as written.
    case number(String)
}

/// An item of an evaluation result.
public enum FHIRPathResult: Sendable, Equatable {
    case element(FHIRPathElement)
    case value(FHIRPathValue)
}

/// A parsed and checked FHIRPath expression of the supported subset.
public struct FHIRPathExpression: Sendable {
    /// The expression text.
    public let expression: String
    let root: FHIRPathNode
    let nodeCount: Int

    /// Parses `expression` and checks it against the R4 model: unsupported syntax or
    /// functions, unknown type names and unknown resource types are errors.
    public init(_ expression: String) throws(FHIRPathError) {
        let parsed = try FHIRPathParser.parse(expression, resolveTypes: true)
        self.expression = expression
        self.root = parsed.root
        self.nodeCount = parsed.nodeCount
    }

    /// Checks only the syntax and the supported subset (no type model), for configurations
    /// that do not apply to R4.
    public static func checkSyntax(_ expression: String) throws(FHIRPathError) {
        _ = try FHIRPathParser.parse(expression, resolveTypes: false)
    }

    /// Evaluates the expression with `resource` as context (`$this`). The resource's type is
    /// `type` when given, else its `resourceType`.
    public func evaluate(_ resource: JSONObject, type: String? = nil) throws(FHIRPathError) -> [FHIRPathResult] {
        let evaluator = FHIRPathEvaluator(expression: expression)
        let items = try evaluator.evaluate(root, context: [.node(evaluator.rootNode(resource, type: type))])
        return items.map { item in
            switch item {
            case .value(let v): return .value(v)
            case .node(let n):
                return .element(FHIRPathElement(
                    location: evaluator.locations.components(n.location),
                    value: n.value,
                    companion: n.companion.map { .object($0) },
                    typeName: R4Model.graph.names[n.type]))
            }
        }
    }

    /// The locations of the elements the expression selects (computed values and the resource
    /// itself are ignored).
    func selectedLocations(_ resource: JSONObject, type: String?) throws(FHIRPathError) -> [[JSONPathComponent]] {
        let evaluator = FHIRPathEvaluator(expression: expression)
        let items = try evaluator.evaluate(root, context: [.node(evaluator.rootNode(resource, type: type))])
        var result: [[JSONPathComponent]] = []
        for case .node(let n) in items where n.location != FHIRPathLocations.root {
            result.append(evaluator.locations.components(n.location))
        }
        return result
    }
}

// MARK: - Evaluation

/// The locations of the nodes of one evaluation, as parent-linked entries in one array
/// (cheaper than an array of keys per node).
struct FHIRPathLocations {
    struct Entry {
        var parent: Int32
        var component: JSONPathComponent
    }

    /// The resource itself.
    static let root: Int32 = -1
    private(set) var entries: [Entry] = []

    mutating func append(_ parent: Int32, _ component: JSONPathComponent) -> Int32 {
        entries.append(Entry(parent: parent, component: component))
        return Int32(entries.count - 1)
    }

    func components(_ id: Int32) -> [JSONPathComponent] {
        var result: [JSONPathComponent] = []
        var current = id
        while current != Self.root {
            let entry = entries[Int(current)]
            result.append(entry.component)
            current = entry.parent
        }
        return result.reversed()
    }

    /// The location as one string (for de-duplication).
    func key(_ id: Int32) -> String {
        components(id).map { c -> String in
            switch c {
            case .key(let k): return "." + k
            case .index(let i): return "[" + String(i) + "]"
            }
        }.joined()
    }
}

final class FHIRPathEvaluator {
    struct Node {
        /// The JSON value (nil: primitive with only a companion).
        var value: JSONValue?
        /// The `_name` companion object of a primitive.
        var companion: JSONObject?
        /// In `locations`; `FHIRPathLocations.root` for the resource itself.
        var location: Int32
        var type: Int
    }

    enum Item {
        case node(Node)
        case value(FHIRPathValue)
    }

    let expression: String
    let graph = R4Model.graph
    var locations = FHIRPathLocations()

    init(expression: String) {
        self.expression = expression
    }

    func error(_ node: FHIRPathNode, _ message: String) -> FHIRPathError {
        FHIRPathError(.evaluation, expression: expression, position: node.position, message: message)
    }

    func rootNode(_ resource: JSONObject, type: String?) -> Node {
        let name = type ?? resource["resourceType"]?.stringValue ?? ""
        return Node(value: .object(resource), companion: nil, location: FHIRPathLocations.root, type: graph.ids[name] ?? graph.unknown)
    }

    func evaluate(_ node: FHIRPathNode, context: [Item]) throws(FHIRPathError) -> [Item] {
        switch node.kind {
        case .this:
            return context

        case .literal(let literal):
            switch literal {
            case .string(let s): return [.value(.string(s))]
            case .number(let n): return [.value(.number(n))]
            case .boolean(let b): return [.value(.boolean(b))]
            }

        case .member(let base, let name):
            let input = try base.map { b throws(FHIRPathError) in try evaluate(b, context: context) } ?? context
            var result: [Item] = []
            for case .node(let n) in input {
                member(n, name, into: &result)
            }
            return result

        case .typeFilter(let base, let type):
            let input = try base.map { b throws(FHIRPathError) in try evaluate(b, context: context) } ?? context
            guard let typeID = type.fhirType else { return [] }
            return input.filter { item in
                if case .node(let n) = item { return graph.isA(n.type, typeID) }
                return false
            }

        case .function(let base, let function, let argument):
            let input = try base.map { b throws(FHIRPathError) in try evaluate(b, context: context) } ?? context
            switch function {
            case .children:
                var result: [Item] = []
                for case .node(let n) in input { children(n, into: &result) }
                return result
            case .descendants:
                var result: [Item] = []
                var level: [Item] = []
                for case .node(let n) in input { children(n, into: &level) }
                while !level.isEmpty {
                    result.append(contentsOf: level)
                    var next: [Item] = []
                    for case .node(let n) in level { children(n, into: &next) }
                    level = next
                }
                return result
            case .where:
                guard let argument else { return input }
                if let type = Self.thisTypeTest(argument) {
                    // `where($this is T)`: a type test of each (single) item.
                    return input.filter { matches($0, type) }
                }
                var result: [Item] = []
                for item in input where try criteria(argument, item) == true {
                    result.append(item)
                }
                return result
            case .exists:
                if let argument {
                    for item in input where try criteria(argument, item) == true {
                        return [.value(.boolean(true))]
                    }
                    return [.value(.boolean(false))]
                }
                return [.value(.boolean(!input.isEmpty))]
            case .empty:
                return [.value(.boolean(input.isEmpty))]
            case .first:
                return input.first.map { [$0] } ?? []
            case .not:
                guard input.count == 1, let b = try singletonBoolean(input, node) else { return [] }
                return [.value(.boolean(!b))]
            case .ofType, .is, .as:
                return [] // parsed as typeFunction
            }

        case .typeFunction(let base, let function, let type):
            let input = try base.map { b throws(FHIRPathError) in try evaluate(b, context: context) } ?? context
            switch function {
            case .ofType:
                return input.filter { matches($0, type) }
            case .is:
                return try typeTest(input, type, isOperator: true, node)
            default:
                return try typeTest(input, type, isOperator: false, node)
            }

        case .typeOperator(let operand, let isOperator, let type):
            let input = try evaluate(operand, context: context)
            return try typeTest(input, type, isOperator: isOperator, node)

        case .binary(let op, let lhs, let rhs):
            let left = try evaluate(lhs, context: context)
            let right = try evaluate(rhs, context: context)
            switch op {
            case .union:
                return union(left, right)
            case .equals, .notEquals:
                guard !left.isEmpty, !right.isEmpty else { return [] }
                var equal = left.count == right.count
                if equal {
                    for (a, b) in zip(left, right) where !itemsEqual(a, b) {
                        equal = false
                        break
                    }
                }
                return [.value(.boolean(op == .equals ? equal : !equal))]
            case .and:
                let a = try singletonBoolean(left, lhs)
                let b = try singletonBoolean(right, rhs)
                if a == false || b == false { return [.value(.boolean(false))] }
                if a == true && b == true { return [.value(.boolean(true))] }
                return []
            case .or:
                let a = try singletonBoolean(left, lhs)
                let b = try singletonBoolean(right, rhs)
                if a == true || b == true { return [.value(.boolean(true))] }
                if a == false && b == false { return [.value(.boolean(false))] }
                return []
            }
        }
    }

    /// The type of `$this is T`, `is(T)`, `$this.is(T)` criteria.
    static func thisTypeTest(_ criteria: FHIRPathNode) -> FHIRPathTypeSpecifier? {
        switch criteria.kind {
        case .typeOperator(let operand, true, let type):
            if case .this = operand.kind { return type }
        case .typeFunction(let base, .is, let type):
            guard let base else { return type }
            if case .this = base.kind { return type }
        default:
            break
        }
        return nil
    }

    /// Evaluates `criteria` with `item` as `$this` and its result as a boolean.
    private func criteria(_ criteria: FHIRPathNode, _ item: Item) throws(FHIRPathError) -> Bool? {
        let result = try evaluate(criteria, context: [item])
        return try singletonBoolean(result, criteria)
    }

    /// Singleton evaluation as Boolean: empty → nil, one boolean → it, one other item → true,
    /// several → error.
    private func singletonBoolean(_ items: [Item], _ node: FHIRPathNode) throws(FHIRPathError) -> Bool? {
        guard let first = items.first else { return nil }
        guard items.count == 1 else {
            throw error(node, "expected a single boolean, got \(items.count) items")
        }
        switch first {
        case .value(.boolean(let b)): return b
        case .node(let n):
            if case .bool(let b)? = n.value { return b }
            return true
        default: return true
        }
    }

    private func typeTest(_ input: [Item], _ type: FHIRPathTypeSpecifier, isOperator: Bool, _ node: FHIRPathNode) throws(FHIRPathError) -> [Item] {
        guard let first = input.first else { return [] }
        guard input.count == 1 else {
            throw error(node, "'\(isOperator ? "is" : "as")' needs a single item, got \(input.count)")
        }
        let ok = matches(first, type)
        if isOperator { return [.value(.boolean(ok))] }
        return ok ? [first] : []
    }

    /// Whether an item is of the type (or a subtype).
    func matches(_ item: Item, _ type: FHIRPathTypeSpecifier) -> Bool {
        switch item {
        case .node(let n):
            if graph.kinds[n.type] == .system {
                guard type.namespace != .fhir, let systemName = type.systemName else { return false }
                return graph.names[n.type] == "System." + systemName
            }
            guard type.namespace != .system, let fhirType = type.fhirType else { return false }
            return graph.isA(n.type, fhirType)
        case .value(let v):
            guard type.namespace != .fhir, let systemName = type.systemName else { return false }
            switch v {
            case .boolean: return systemName == "Boolean"
            case .string: return systemName == "String"
            case .number(let n): return systemName == (n.contains(".") ? "Decimal" : "Integer")
            }
        }
    }

    // MARK: Navigation

    /// The type of a child object: `Resource`-typed elements take their `resourceType`.
    @inline(__always)
    private func refine(_ type: Int, _ value: JSONValue?) -> Int {
        guard graph.isAbstractResource[type], case .object(let o)? = value,
              let name = o["resourceType"]?.stringValue else { return type }
        return graph.resourceTypeID(name) ?? graph.unknown
    }

    /// Whether an object has `_name` companions at all (most FHIR objects have none).
    @inline(__always)
    private static func hasCompanions(_ object: JSONObject) -> Bool {
        for (key, _) in object where key.utf8.first == UInt8(ascii: "_") { return true }
        return false
    }

    /// The node(s) of property `key` (with its `_key` companion) of `object`.
    private func items(of object: JSONObject, key: String, type: Int, parent: Int32, companions: Bool, into result: inout [Item]) {
        items(key: key, value: object[key], companion: companions ? object["_" + key] : nil, type: type, parent: parent, into: &result)
    }

    /// The node(s) of property `key` with this value and `_key` companion.
    private func items(key: String, value: JSONValue?, companion: JSONValue?, type: Int, parent: Int32, into result: inout [Item]) {
        if case .array(let values)? = value {
            let companionItems = companion?.arrayValue ?? []
            var valueOwner: Int32?
            var companionOwner: Int32?
            for i in 0..<max(values.count, companionItems.count) {
                let v = i < values.count && !values[i].isNull ? values[i] : nil
                let c = i < companionItems.count ? companionItems[i].objectValue : nil
                if v == nil && c == nil { continue }
                let owner: Int32
                if v != nil {
                    if valueOwner == nil { valueOwner = locations.append(parent, .key(key)) }
                    owner = valueOwner!
                } else {
                    if companionOwner == nil { companionOwner = locations.append(parent, .key("_" + key)) }
                    owner = companionOwner!
                }
                result.append(.node(Node(value: v, companion: c, location: locations.append(owner, .index(i)), type: refine(type, v))))
            }
        } else if case .array(let companionItems)? = companion, value == nil || value!.isNull {
            let owner = locations.append(parent, .key("_" + key))
            for i in companionItems.indices {
                guard let c = companionItems[i].objectValue else { continue }
                result.append(.node(Node(value: nil, companion: c, location: locations.append(owner, .index(i)), type: type)))
            }
        } else {
            let v = value.flatMap { $0.isNull ? nil : $0 }
            let c = companion?.objectValue
            if v == nil && c == nil { return }
            let location = locations.append(parent, .key(v != nil ? key : "_" + key))
            result.append(.node(Node(value: v, companion: c, location: location, type: refine(type, v))))
        }
    }

    /// The object whose properties are a node's children: the value for complex elements, the
    /// companion for primitives.
    @inline(__always)
    private func container(_ n: Node) -> (JSONObject, Int32)? {
        if case .object(let o)? = n.value { return (o, n.location) }
        if let c = n.companion { return (c, companionLocation(n)) }
        return nil
    }

    /// The location of a primitive's companion: `…/_name` for `…/name`, `…/_name/[i]` for
    /// `…/name/[i]` (or the node's own location when it is the companion).
    private func companionLocation(_ n: Node) -> Int32 {
        let location = n.location
        if n.value == nil || location == FHIRPathLocations.root { return location }
        let entry = locations.entries[Int(location)]
        switch entry.component {
        case .key(let k):
            return locations.append(entry.parent, .key("_" + k))
        case .index(let i):
            guard entry.parent != FHIRPathLocations.root else { return location }
            let owner = locations.entries[Int(entry.parent)]
            guard case .key(let k) = owner.component else { return location }
            return locations.append(locations.append(owner.parent, .key("_" + k)), .index(i))
        }
    }

    func member(_ n: Node, _ name: String, into result: inout [Item]) {
        guard let (object, location) = container(n) else { return }
        let companions = Self.hasCompanions(object)
        if let alternatives = graph.choices[n.type][name] {
            for alternative in alternatives where object[alternative.key] != nil || (companions && object["_" + alternative.key] != nil) {
                items(of: object, key: alternative.key, type: alternative.type, parent: location, companions: companions, into: &result)
                return
            }
            return
        }
        items(of: object, key: name, type: graph.childType(n.type, name), parent: location, companions: companions, into: &result)
    }

    func children(_ n: Node, into result: inout [Item]) {
        guard let (object, location) = container(n) else { return }
        let companions = Self.hasCompanions(object)
        for (key, value) in object {
            if companions && key.utf8.first == UInt8(ascii: "_") {
                let base = String(key.dropFirst())
                if object[base] != nil { continue } // merged into the value's node
                items(key: base, value: nil, companion: value, type: graph.childType(n.type, base), parent: location, into: &result)
                continue
            }
            if key == "resourceType" { continue }
            items(key: key, value: value, companion: companions ? object["_" + key] : nil,
                  type: graph.childType(n.type, key), parent: location, into: &result)
        }
    }

    // MARK: Union and equality

    private func union(_ left: [Item], _ right: [Item]) -> [Item] {
        var seenLocations = Set<String>()
        var seenValues = Set<FHIRPathValue>()
        var result: [Item] = []
        for item in left + right {
            switch item {
            case .node(let n):
                if seenLocations.insert(locations.key(n.location)).inserted { result.append(item) }
            case .value(let v):
                if seenValues.insert(v).inserted { result.append(item) }
            }
        }
        return result
    }

    private enum Comparable: Equatable {
        case string(String)
        case number(FHIRPathDecimal)
        case boolean(Bool)
        case dateTime(String)
        case complex(JSONValue)
    }

    private func comparable(_ item: Item) -> Comparable? {
        switch item {
        case .value(.string(let s)): return .string(s)
        case .value(.boolean(let b)): return .boolean(b)
        case .value(.number(let n)): return FHIRPathDecimal(n).map { .number($0) }
        case .node(let n):
            guard let value = n.value else { return nil }
            switch value {
            case .null: return nil
            case .bool(let b): return .boolean(b)
            case .number(let literal): return FHIRPathDecimal(literal).map { .number($0) }
            case .string(let s):
                switch graph.names[n.type] {
                case "date", "dateTime", "instant", "time": return .dateTime(s)
                default: return .string(s)
                }
            case .object, .array: return .complex(value)
            }
        }
    }

    private func itemsEqual(_ a: Item, _ b: Item) -> Bool {
        guard let x = comparable(a), let y = comparable(b) else { return false }
        switch (x, y) {
        case (.complex(let l), .complex(let r)): return Self.deepEqual(l, r)
        default: return x == y
        }
    }

    /// JSON equality with object members in any order and numbers by value.
    static func deepEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y || FHIRPathDecimal(x) == FHIRPathDecimal(y)
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            return zip(x, y).allSatisfy { deepEqual($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x {
                guard let w = y[k], deepEqual(v, w) else { return false }
            }
            return true
        default: return false
        }
    }
}

/// A decimal number normalised for comparison by value: sign, significant digits, exponent.
struct FHIRPathDecimal: Equatable {
    var negative: Bool
    var digits: [UInt8]
    var exponent: Int

    init?(_ literal: String) {
        var negative = false
        var digits: [UInt8] = []
        var exponent = 0
        var seenDot = false
        var utf8 = Array(literal.utf8)[...]
        if utf8.first == UInt8(ascii: "-") { negative = true; utf8 = utf8.dropFirst() } else if utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
        var i = utf8.startIndex
        while i < utf8.endIndex {
            let c = utf8[i]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                digits.append(c - UInt8(ascii: "0"))
                if seenDot { exponent -= 1 }
            } else if c == UInt8(ascii: ".") && !seenDot {
                seenDot = true
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                guard let e = Int(String(decoding: utf8[(i + 1)...], as: UTF8.self)) else { return nil }
                exponent += e
                break
            } else {
                return nil
            }
            i += 1
        }
        guard !digits.isEmpty else { return nil }
        while let f = digits.first, f == 0 { digits.removeFirst() }
        while let l = digits.last, l == 0 { digits.removeLast(); exponent += 1 }
        if digits.isEmpty {
            negative = false
            exponent = 0
        }
        self.negative = negative
        self.digits = digits
        self.exponent = exponent
    }
}
