// R4Model.swift
//
// The FHIR R4 (4.0.1) type model used by the FHIRPath engine. The data comes from the four
// model tables that fhirpathpy ships (see scripts/generate-r4-model.py and
// R4Model+Generated.swift); they are parsed once, at first use (a `static let` is lazily and
// thread-safely initialised), into dictionaries and into a numbered type graph.
//
// Type paths follow fhirpathpy's convention: a node's type is either a type name ("Money",
// "string", "Patient", "SimpleQuantity"), a System type ("System.String", used for element
// ids and Extension.url), or — for a BackboneElement — the path that defines it
// ("Coverage.costToBeneficiary"). Content references ("Questionnaire.item.item") resolve to
// the path they reuse ("Questionnaire.item") via pathsDefinedElsewhere.

/// The FHIR R4 type model (from fhirpathpy's `models/r4` tables).
public enum R4Model {
    // MARK: Raw tables

    struct Tables: Sendable {
        var path2Type: [String: String] = [:]
        var choiceTypePaths: [String: [String]] = [:]
        var type2Parent: [String: String] = [:]
        var pathsDefinedElsewhere: [String: String] = [:]
        /// Choice paths in the order of the source (sorted by path).
        var choiceOrder: [String] = []
        var path2TypeOrder: [(String, String)] = []

        static func load() -> Tables {
            var t = Tables()
            forEachLine(R4Model.path2TypeData) { fields in
                guard fields.count == 2 else { return }
                t.path2Type[fields[0]] = fields[1]
                t.path2TypeOrder.append((fields[0], fields[1]))
            }
            forEachLine(R4Model.choiceTypePathsData) { fields in
                guard fields.count >= 2 else { return }
                t.choiceTypePaths[fields[0]] = Array(fields.dropFirst())
                t.choiceOrder.append(fields[0])
            }
            forEachLine(R4Model.type2ParentData) { fields in
                guard fields.count == 2 else { return }
                t.type2Parent[fields[0]] = fields[1]
            }
            forEachLine(R4Model.pathsDefinedElsewhereData) { fields in
                guard fields.count == 2 else { return }
                t.pathsDefinedElsewhere[fields[0]] = fields[1]
            }
            return t
        }

        private static func forEachLine(_ data: String, _ body: ([String]) -> Void) {
            for line in data.split(separator: "\n", omittingEmptySubsequences: true) {
                body(line.split(separator: " ").map(String.init))
            }
        }
    }

    static let tables: Tables = Tables.load()

    /// The numbered type graph built from the tables (children per type, ancestors, choices).
    static let graph: TypeGraph = TypeGraph(tables)

    // MARK: Public look-ups

    /// The type of the element at `path` as the model states it ("Patient.name" → "HumanName",
    /// "Coverage.costToBeneficiary.valueMoney" → "Money", "Patient.id" → "System.String");
    /// `nil` for BackboneElements, choice base paths and unknown paths.
    public static func elementType(path: String) -> String? {
        tables.path2Type[path]
    }

    /// The type suffixes of a choice element, in the model's order
    /// ("Coverage.costToBeneficiary.value" → ["Quantity", "Money"]); `nil` if not a choice.
    public static func choiceTypes(path: String) -> [String]? {
        tables.choiceTypePaths[path]
    }

    /// The path whose definition a content reference reuses
    /// ("Questionnaire.item.item" → "Questionnaire.item"), or `nil`.
    public static func definedElsewhere(path: String) -> String? {
        tables.pathsDefinedElsewhere[path]
    }

    /// The base type ("SimpleQuantity" → "Quantity", "Patient" → "DomainResource",
    /// "code" → "string"), or `nil` for a root ("Element", "Resource") or an unknown name.
    public static func parentType(_ type: String) -> String? {
        tables.type2Parent[type]
    }

    /// Whether `type` is `ancestor` or derives from it (`isSubtype("SimpleQuantity", of: "Quantity")`).
    public static func isSubtype(_ type: String, of ancestor: String) -> Bool {
        var current: String? = type
        var steps = 0
        while let name = current, steps < 64 {
            if name == ancestor { return true }
            current = tables.type2Parent[name]
            steps += 1
        }
        return false
    }

    /// Whether `name` is a concrete R4 resource type (not the abstract Resource/DomainResource).
    public static func isResourceType(_ name: String) -> Bool {
        guard let id = graph.ids[name] else { return false }
        return graph.isConcreteResource[id]
    }

    /// All concrete R4 resource type names, sorted.
    public static var resourceTypes: [String] {
        graph.resourceTypeIDs.map { graph.names[$0] }.sorted()
    }

    /// The FHIRPath System types.
    public static let systemTypeNames: Set<String> = [
        "Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity",
    ]
}

/// The type model as numbered types: each type (type name, System type or BackboneElement
/// path) has an id, its children (JSON property name → child type id) including inherited
/// elements, choice elements, and the FHIR type ids it "is" (itself and its ancestors).
struct TypeGraph: Sendable {
    enum Kind: Sendable, Equatable {
        /// A FHIR type name (data type, primitive, resource, profile).
        case fhir
        /// A System type ("System.String").
        case system
        /// A BackboneElement, named by its defining path.
        case backbone
        /// An element the model does not describe (unexpected JSON property).
        case unknown
    }

    struct Choice: Sendable {
        var key: String
        var type: Int
    }

    private(set) var names: [String] = []
    private(set) var kinds: [Kind] = []
    private(set) var ids: [String: Int] = [:]
    /// Per type: key → child type id (own, inherited, concrete choice keys, content references).
    private(set) var children: [[String: Int]] = []
    /// Per type: choice base name ("value") → alternatives in model order.
    private(set) var choices: [[String: [Choice]]] = []
    /// Per type: the FHIR type ids it "is" (itself for FHIR types, then its ancestors).
    private(set) var ancestors: [[Int]] = []
    /// Per type: whether it is the abstract Resource or DomainResource.
    private(set) var isAbstractResource: [Bool] = []
    private(set) var isConcreteResource: [Bool] = []
    private(set) var resourceTypeIDs: [Int] = []
    /// Property names, numbered (0 is reserved: "the resource itself" in analyses).
    private(set) var keyNames: [String] = [""]
    private(set) var keyIDs: [String: Int] = [:]
    /// Per type: its children as packed `(child type << 32) | key id`, as `childType` resolves
    /// them (for abstract evaluation).
    private(set) var childEdges: [[Int]] = []

    private(set) var unknown = 0
    private(set) var extensionType = 0
    private(set) var backboneElementType = 0
    private(set) var elementType = 0

    init(_ tables: R4Model.Tables) {
        unknown = intern("?", kind: .unknown)
        // Types named anywhere.
        for (name, parent) in tables.type2Parent {
            _ = internTypeName(name)
            _ = internTypeName(parent)
        }
        extensionType = internTypeName("Extension")
        backboneElementType = internTypeName("BackboneElement")
        elementType = internTypeName("Element")
        _ = internTypeName("Resource")
        _ = internTypeName("DomainResource")

        // 1. Own elements from path2Type, and BackboneElement paths for every dotted prefix.
        var own: [Int: [String: Int]] = [:]
        func setChild(_ parentPath: Substring, _ key: Substring, _ child: Int) {
            let parent = internPath(String(parentPath))
            if own[parent]?[String(key)] == nil {
                own[parent, default: [:]][String(key)] = child
            }
        }
        for (path, type) in tables.path2TypeOrder {
            let child = internTypeName(type)
            guard let dot = path.lastIndex(of: ".") else { continue }
            setChild(path[..<dot], path[path.index(after: dot)...], child)
            // Every prefix "A.b.c" of the parent is a BackboneElement child of "A.b" unless
            // the model gives it a type.
            var prefix = path[..<dot]
            while let d = prefix.lastIndex(of: ".") {
                let parentPath = prefix[..<d]
                let key = prefix[prefix.index(after: d)...]
                let childPath = String(prefix)
                let childType = tables.path2Type[childPath].map { internTypeName($0) } ?? internPath(childPath)
                setChild(parentPath, key, childType)
                prefix = parentPath
            }
        }
        // 2. Content references: "Questionnaire.item.item" is a "Questionnaire.item".
        for (path, target) in tables.pathsDefinedElsewhere.sorted(by: { $0.key < $1.key }) {
            guard let dot = path.lastIndex(of: ".") else { continue }
            let child = tables.path2Type[target].map { internTypeName($0) } ?? internPath(target)
            setChild(path[..<dot], path[path.index(after: dot)...], child)
        }
        // 3. Choice elements: "Extension.value" → valueBase64Binary … valueMoney … in order.
        var ownChoices: [Int: [String: [Choice]]] = [:]
        for path in tables.choiceOrder {
            guard let suffixes = tables.choiceTypePaths[path], let dot = path.lastIndex(of: ".") else { continue }
            let parent = internPath(String(path[..<dot]))
            let base = String(path[path.index(after: dot)...])
            var list: [Choice] = []
            for suffix in suffixes {
                let key = base + suffix
                let type = own[parent]?[key] ?? tables.path2Type[path + suffix].map { internTypeName($0) } ?? unknown
                if own[parent]?[key] == nil { own[parent, default: [:]][key] = type }
                list.append(Choice(key: key, type: type))
            }
            ownChoices[parent, default: [:]][base] = list
        }

        // 4. Ancestors and inherited elements.
        let count = names.count
        children = Array(repeating: [:], count: count)
        choices = Array(repeating: [:], count: count)
        ancestors = Array(repeating: [], count: count)
        isAbstractResource = Array(repeating: false, count: count)
        isConcreteResource = Array(repeating: false, count: count)
        let resourceID = ids["Resource"]!
        let domainResourceID = ids["DomainResource"]!
        for id in 0..<count {
            var chain: [Int] = []
            switch kinds[id] {
            case .fhir:
                var current: String? = names[id]
                while let name = current, chain.count < 64 {
                    if let ancestorID = ids[name] { chain.append(ancestorID) }
                    current = tables.type2Parent[name]
                }
            case .backbone, .unknown:
                chain = [backboneElementType, elementType]
            case .system:
                chain = []
            }
            ancestors[id] = chain
            // Inherit from the farthest ancestor down to the type itself.
            var merged: [String: Int] = [:]
            var mergedChoices: [String: [Choice]] = [:]
            let lineage: [Int] = kinds[id] == .fhir ? Array(chain.reversed()) : [id]
            for ancestorID in lineage {
                for (k, v) in own[ancestorID] ?? [:] { merged[k] = v }
                for (k, v) in ownChoices[ancestorID] ?? [:] { mergedChoices[k] = v }
            }
            children[id] = merged
            choices[id] = mergedChoices
            isAbstractResource[id] = id == resourceID || id == domainResourceID
            for key in merged.keys where keyIDs[key] == nil {
                keyIDs[key] = keyNames.count
                keyNames.append(key)
            }
            if kinds[id] == .fhir && chain.contains(resourceID) && !isAbstractResource[id] {
                isConcreteResource[id] = true
                resourceTypeIDs.append(id)
            }
        }
        for key in ["extension", "modifierExtension"] where keyIDs[key] == nil {
            keyIDs[key] = keyNames.count
            keyNames.append(key)
        }
        childEdges = (0..<count).map { id in
            children[id].keys.sorted().map { key in (childType(id, key) << 32) | keyIDs[key]! }
        }
    }

    private mutating func intern(_ name: String, kind: Kind) -> Int {
        if let id = ids[name] { return id }
        let id = names.count
        names.append(name)
        kinds.append(kind)
        ids[name] = id
        return id
    }

    /// A type name from the tables ("Money", "System.String").
    private mutating func internTypeName(_ name: String) -> Int {
        if name.hasPrefix("System.") { return intern(name, kind: .system) }
        return intern(name, kind: name.contains(".") ? .backbone : .fhir)
    }

    /// An element path or type name: dotted paths are BackboneElements.
    private mutating func internPath(_ path: String) -> Int {
        intern(path, kind: path.contains(".") ? .backbone : .fhir)
    }

    // MARK: Queries

    /// The type of property `key` of a node of type `parent` (`unknown` when the model does not
    /// know it). `extension` and `modifierExtension` are Extensions everywhere.
    @inline(__always)
    func childType(_ parent: Int, _ key: String) -> Int {
        if key == "extension" || key == "modifierExtension" { return extensionType }
        return children[parent][key] ?? unknown
    }

    /// Whether type `type` is (or derives from) the FHIR type `fhirType`.
    @inline(__always)
    func isA(_ type: Int, _ fhirType: Int) -> Bool {
        ancestors[type].contains(fhirType)
    }

    /// The resource type id for a `resourceType` value, if the model knows it.
    func resourceTypeID(_ name: String) -> Int? {
        guard let id = ids[name], isConcreteResource[id] else { return nil }
        return id
    }

    /// A readable type name for messages ("Coverage.costToBeneficiary" → BackboneElement path).
    func displayName(_ type: Int) -> String {
        kinds[type] == .unknown ? "an unknown element" : names[type]
    }
}
