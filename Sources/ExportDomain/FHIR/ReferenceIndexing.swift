/// One row of the reference index: `source` points at `target` through `path`.
public struct IndexedReference: Sendable, Hashable {
    public var path: ReferencePath
    public var target: ResourceKey

    public init(path: ReferencePath, target: ResourceKey) {
        self.path = path
        self.target = target
    }
}

/// One row of the search index: a token (`system|value`) or a normalised string.
public struct IndexedSearchValue: Sendable, Hashable {
    public var parameter: String
    public var system: String?
    public var value: String

    public init(parameter: String, system: String?, value: String) {
        self.parameter = parameter
        self.system = system
        self.value = value
    }
}

/// The indexing rules: which references and search values are extracted from a resource on
/// every write, so an export or a search never scans all resources. Paths are named after the
/// FHIR element (or ATR extension) they come from; changing rules needs `atrctl reindex`.
public enum ReferenceIndexing {
    /// Root reference elements indexed per resource type, each under the path of its own name.
    /// Every `MemberLink` must be covered here: the export finds member resources through them.
    static let referencePaths: [ResourceType: [ReferencePath]] = [
        "Group": [.managingEntity],
        "Coverage": MemberLink.coverage.paths,
        "Consent": MemberLink.consent.paths,
        "RelatedPerson": MemberLink.relatedPerson.paths,
        "PractitionerRole": [.practitioner, .organization, .location],
        "Patient": [.generalPractitioner, .managingOrganization],
    ]

    public static func references(in resource: JSONObject, baseURL: String) -> [IndexedReference] {
        guard let type = resource["resourceType"]?.stringValue.map(ResourceType.init(rawValue:)) else { return [] }
        var found: [IndexedReference] = []
        var seen = Set<IndexedReference>()
        func add(_ path: ReferencePath, _ value: JSONValue?) {
            for reference in referenceValues(value) {
                guard let key = ResourceKey.parse(reference: reference, baseURL: baseURL) else { continue }
                let row = IndexedReference(path: path, target: key)
                if seen.insert(row).inserted { found.append(row) }
            }
        }
        for path in referencePaths[type] ?? [] {
            add(path, resource[path.rawValue])
        }
        if type == "Group", let members = resource["member"]?.arrayValue {
            for member in members {
                add(.member, member["entity"])
                for ext in member["extension"]?.arrayValue ?? [] {
                    switch ext["url"]?.stringValue {
                    case ATRExtension.coverageReference: add(.coverageReference, ext["valueReference"])
                    case ATRExtension.attributedProvider: add(.attributedProvider, ext["valueReference"])
                    default: break
                    }
                }
            }
        }
        return found
    }

    /// Search values: `identifier` tokens and the lower-cased `name` of Groups.
    public static func searchValues(in resource: JSONObject) -> [IndexedSearchValue] {
        guard resource["resourceType"]?.stringValue == "Group" else { return [] }
        var values: [IndexedSearchValue] = []
        for identifier in resource["identifier"]?.arrayValue ?? [] {
            guard let value = identifier["value"]?.stringValue else { continue }
            values.append(IndexedSearchValue(parameter: "identifier", system: identifier["system"]?.stringValue, value: value))
        }
        if let name = resource["name"]?.stringValue {
            values.append(IndexedSearchValue(parameter: "name", system: nil, value: SearchNormalization.normalize(name)))
        }
        return values
    }

    /// `identifier` of Patients (`$member-add` … `memberId`) and of Practitioners and
    /// Organizations (`providerNpi`): how the list operations resolve business identifiers.
    public static func identifierValues(in resource: JSONObject) -> [IndexedSearchValue] {
        guard let type = resource["resourceType"]?.stringValue, identifierIndexedTypes.contains(ResourceType(type)) else { return [] }
        return (resource["identifier"]?.arrayValue ?? []).compactMap { identifier in
            guard let value = identifier["value"]?.stringValue else { return nil }
            return IndexedSearchValue(parameter: "identifier", system: identifier["system"]?.stringValue, value: value)
        }
    }

    public static let identifierIndexedTypes: [ResourceType] = ["Patient", "Practitioner", "Organization"]

    /// `reference` strings of a Reference or an array of References.
    private static func referenceValues(_ value: JSONValue?) -> [String] {
        switch value {
        case .object(let object)?:
            return object["reference"]?.stringValue.map { [$0] } ?? []
        case .array(let items)?:
            return items.flatMap { referenceValues($0) }
        default:
            return []
        }
    }
}

public enum SearchNormalization {
    /// FHIR string search is case- and accent-insensitive; lower-casing covers the case part.
    public static func normalize(_ text: String) -> String {
        text.lowercased()
    }
}
