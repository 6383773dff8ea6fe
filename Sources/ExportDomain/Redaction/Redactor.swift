// Redactor.swift
//
// Resource redaction (`ResourceRedactionOptions.Redactions["hl7.fhir.us.davinci-atr"]`):
// every element that any `OmitElements` FHIRPath expression selects is removed from each
// exported resource (the expressions are OR-ed), what the removal leaves invalid is pruned
// (see ElementRemoval.swift), and a resource that lost anything gets the SUBSETTED tag.
//
// Configuration errors are found when the redactor is created (at start-up): unsupported
// syntax or functions, unknown types, elements no type has, expressions that select the
// resource itself or compute values instead of selecting elements.
//
// Fast path: for every R4 resource type the redactor knows, from the type model, the JSON
// property names under which a selected element can sit (for `descendants().where($this is
// Money)`: `valueMoney`, `net`, `unitPrice`, `amount`, `totalGross`, … reachable from that
// type, contained resources included; for `Coverage.costToBeneficiary`: `costToBeneficiary`
// for Coverage). A resource whose stored bytes contain none of them as a key is unchanged:
// `redact` returns nil without parsing, and the caller writes the stored bytes as they are.

/// Removes configured elements from exported resources.
public struct Redactor: Sendable {
    /// The `FhirVersions` entry that makes a redaction apply to FHIR R4.
    public static let r4Version = "Fhir4.0"
    /// The `ResourceRedactionOptions.Redactions` entry used for ATR exports.
    public static let atrRedactionName = "hl7.fhir.us.davinci-atr"

    /// Whether the redactor changes anything (R4 listed in `FhirVersions` and at least one
    /// expression). An inactive redactor's `redact` always returns nil.
    public let isActive: Bool
    enum Plan: Sendable {
        /// No expression can select anything in resources of this type.
        case never
        /// Parse only when one of these names occurs as a JSON key.
        case keys(JSONKeyMatcher)
        /// Always parse (an expression may select elements the model does not describe).
        case always
    }

    let expressions: [FHIRPathExpression]
    /// Per resource type name.
    let plans: [String: Plan]
    /// The redaction on bytes, when every expression has a streamable form.
    let streaming: StreamingRedaction?

    /// A redactor without expressions.
    public static let inactive = Redactor(isActive: false, expressions: [], plans: [:])

    private init(isActive: Bool, expressions: [FHIRPathExpression], plans: [String: Plan]) {
        self.isActive = isActive
        self.expressions = expressions
        self.plans = plans
        streaming = isActive ? StreamingRedaction(expressions) : nil
    }

    /// Whether resources are redacted on their bytes (see StreamingRedaction.swift).
    public var redactsOnBytes: Bool { streaming != nil }

    /// Compiles the `OmitElements` expressions of a redaction entry. The redaction applies to
    /// R4 only when `fhirVersions` contains "Fhir4.0"; otherwise the redactor is inactive (its
    /// expressions are still checked for syntax and the supported subset).
    /// - Throws: `FHIRPathError` (stage `redaction`) naming the expression and the position.
    public init(fhirVersions: [String], omitElements: [String]) throws {
        guard fhirVersions.contains(Self.r4Version) else {
            for expression in omitElements {
                do {
                    try FHIRPathExpression.checkSyntax(expression)
                } catch {
                    throw error.asRedactionProblem
                }
            }
            self.init(isActive: false, expressions: [], plans: [:])
            return
        }
        var compiled: [FHIRPathExpression] = []
        for expression in omitElements {
            do {
                compiled.append(try FHIRPathExpression(expression))
            } catch {
                throw error.asRedactionProblem
            }
        }
        self.init(isActive: !compiled.isEmpty, expressions: compiled,
                  plans: compiled.isEmpty ? [:] : try Self.plan(compiled))
    }

    /// Analyses every expression for every R4 resource type: configuration problems, and the
    /// property names of the fast path.
    private static func plan(_ expressions: [FHIRPathExpression]) throws -> [String: Plan] {
        let graph = R4Model.graph
        var analysis = FHIRPathAnalysis()
        var names: [Int: Set<String>] = [:]
        var always = Set<Int>()
        for expression in expressions {
            for type in graph.resourceTypeIDs {
                let result = analysis.analyze(expression, rootType: type)
                if result.values {
                    throw FHIRPathError(
                        .redaction, expression: expression.expression, position: 1,
                        message: "the expression computes values (such as a Boolean) instead of selecting elements")
                }
                if result.unknown { always.insert(type) }
                for element in result.elements {
                    let key = FHIRPathAnalysis.key(of: element)
                    if key == FHIRPathAnalysis.rootKey {
                        throw FHIRPathError(
                            .redaction, expression: expression.expression, position: 1,
                            message: "the expression selects the \(graph.names[type]) resource itself, not elements in it")
                    }
                    let name = analysis.keyNames[key]
                    names[type, default: []].insert(name)
                    // A primitive without a value is stored as its `_name` companion only.
                    names[type, default: []].insert("_" + name)
                }
            }
            if let problem = analysis.unknownMemberProblem(expression) {
                throw FHIRPathError(.redaction, expression: expression.expression, position: problem.position, message: problem.message)
            }
        }
        var plans: [String: Plan] = [:]
        for type in graph.resourceTypeIDs {
            if always.contains(type) {
                plans[graph.names[type]] = .always
            } else if let set = names[type], !set.isEmpty {
                plans[graph.names[type]] = .keys(JSONKeyMatcher(set))
            } else {
                plans[graph.names[type]] = .never
            }
        }
        return plans
    }

    /// The JSON property names whose presence makes `redact` parse a resource of `type`:
    /// empty when nothing can be selected, nil when every resource is parsed.
    public func fastPathNames(for type: ResourceType) -> [String]? {
        guard isActive else { return [] }
        switch plans[type.rawValue] ?? .always {
        case .never: return []
        case .keys(let matcher): return matcher.names
        case .always: return nil
        }
    }

    /// Whether the fast path alone decides that a resource is unchanged (no parsing needed).
    public func isUnchangedWithoutParsing(type: ResourceType, json: [UInt8]) -> Bool {
        guard isActive else { return true }
        switch plans[type.rawValue] ?? .always {
        case .never: return true
        case .keys(let matcher): return !matcher.occurs(in: json)
        case .always: return false
        }
    }

    /// For a resource read in parts (a big Group): whether a redaction could remove anything
    /// from its top-level property `name` with this `value` (a complete JSON value, or one
    /// element of an array value). When this is false for every part, the resource is unchanged.
    public func mayChange(type: ResourceType, property name: String, value: UnsafeRawBufferPointer) -> Bool {
        guard isActive else { return false }
        switch plans[type.rawValue] ?? .always {
        case .never: return false
        case .keys(let matcher): return matcher.names.contains(name) || matcher.occurs(in: value.bindMemory(to: UInt8.self))
        case .always: return true
        }
    }

    /// What redaction does to one part of a resource read in parts (a big Group): a top-level
    /// property's value, or one item of a top-level array property.
    public enum PartOutcome: Equatable, Sendable {
        case unchanged
        case replaced([UInt8])
        /// The property (or the item) goes. When every item of an array goes, the property goes.
        case removed
        /// This part cannot be decided alone (companions, escaped keys, or a redaction that does
        /// not work on bytes): redact the whole resource.
        case needsTree
    }

    /// Redacts one part of a resource of `type` on its bytes (see StreamingRedaction.swift).
    /// The caller adds the SUBSETTED tag when any part changed, drops an array property whose
    /// items all went, and redacts the whole resource instead when a part that changed has a
    /// `_name` companion among the resource's properties.
    public func redactPart(type: ResourceType, key: String, value: [UInt8], isArrayItem: Bool) -> PartOutcome {
        guard isActive else { return .unchanged }
        if case .never? = plans[type.rawValue] { return .unchanged }
        guard let streaming, let rootType = R4Model.graph.ids[type.rawValue] else { return .needsTree }
        return streaming.redactPart(rootType: rootType, key: key, value: value, isArrayItem: isArrayItem)
    }

    /// Redacts one stored resource.
    /// - Returns: nil when nothing is removed (write the stored bytes unchanged); otherwise the
    ///   redacted resource as compact JSON with the SUBSETTED tag.
    /// - Throws: `JSONSyntaxError` for bytes that are not a JSON object, or
    ///   `FHIRPathError` (stage `evaluation`) when an expression cannot be evaluated on this resource.
    public func redact(type: ResourceType, json: [UInt8]) throws -> [UInt8]? {
        if isUnchangedWithoutParsing(type: type, json: json) { return nil }
        if let streaming, let rootType = R4Model.graph.ids[type.rawValue] {
            switch streaming.redact(json, rootType: rootType) {
            case .unchanged: return nil
            case .redacted(let bytes): return bytes
            case .needsTree: break
            }
        }
        return try redactByTree(type: type, json: json)
    }

    /// The general path: parse, evaluate the expressions, remove, serialise.
    func redactByTree(type: ResourceType, json: [UInt8]) throws -> [UInt8]? {
        if isUnchangedWithoutParsing(type: type, json: json) { return nil }
        guard case .object(let resource) = try JSONParser.parse(json) else {
            throw JSONSyntaxError(offset: 0, message: "a resource must be a JSON object")
        }
        return try redactParsed(type: type, resource: resource)?.serialized()
    }

    /// Redacts a resource that is already parsed (e.g. a Group after member filtering).
    /// - Returns: nil when nothing is removed; otherwise the redacted resource, SUBSETTED.
    public func redact(type: ResourceType, resource: JSONObject) throws -> JSONObject? {
        guard isActive else { return nil }
        if case .never? = plans[type.rawValue] { return nil }
        return try redactParsed(type: type, resource: resource)
    }

    private func redactParsed(type: ResourceType, resource: JSONObject) throws -> JSONObject? {
        var locations: [[JSONPathComponent]] = []
        for expression in expressions {
            locations.append(contentsOf: try expression.selectedLocations(resource, type: type.rawValue))
        }
        guard !locations.isEmpty else { return nil }
        var result = resource
        guard ElementRemoval.remove(locations, from: &result) else { return nil }
        Subsetting.addSubsettedTag(&result)
        return result
    }
}
