/// The references an export follows from an exported resource to the "additional" resources
/// (README "Decisions a user could trip over", Export, "Per member").
public enum ExportReferences {
    /// The only types reached by following references.
    public static let targetTypes = Set(ATRTypes.referenced)

    /// Root reference elements followed, per source type, in the order they are read.
    ///
    /// Exactly the list in the README. Not followed on purpose: `Location.managingOrganization`
    /// (samples/README.md says so explicitly), `Location.partOf`, `Organization.partOf`, and
    /// every reference from Practitioner, RelatedPerson or Consent. `Group.member`'s
    /// `ext-attributedProvider` is read by `ATRMembership.member` (only exported members count).
    public static let followedElements: [ResourceType: [String]] = [
        "Group": ["managingEntity"],
        "Coverage": ["payor", "policyHolder"],
        "PractitionerRole": ["practitioner", "organization", "location"],
        "Patient": ["generalPractitioner", "managingOrganization"],
    ]

    /// The local references from `resource` that an export follows, restricted to
    /// `targetTypes`, in order of appearance, without duplicates.
    public static func additionalReferences(of resource: JSONObject, baseURL: String) -> [ResourceKey] {
        guard let type = resource["resourceType"]?.stringValue,
              let elements = followedElements[ResourceType(type)] else { return [] }
        var result: [ResourceKey] = []
        var seen = Set<ResourceKey>()
        for element in elements {
            for key in ReferenceReader.keys(in: resource[element], baseURL: baseURL)
            where targetTypes.contains(key.type) && seen.insert(key).inserted {
                result.append(key)
            }
        }
        return result
    }

    /// The same, from stored JSON: only the followed elements are parsed (the rest is skipped
    /// over), so a Patient costs a scan and a million-member Group no memory.
    @inlinable
    public static func additionalReferences<Source: ByteSource>(type: ResourceType, json source: Source, baseURL: String) -> [ResourceKey] {
        guard followedElements[type] != nil, let scan = ResourceScan(source) else { return [] }
        return additionalReferences(type: type, scan: scan, json: source, baseURL: baseURL)
    }

    /// The same, with the resource already scanned (a big Group is read once, not twice).
    @inlinable
    public static func additionalReferences<Source: ByteSource>(type: ResourceType, scan: ResourceScan, json source: Source,
                                                                baseURL: String) -> [ResourceKey] {
        guard let elements = followedElements[type] else { return [] }
        var properties: [(String, JSONValue)] = [("resourceType", .string(type.rawValue))]
        for element in elements {
            if let range = scan.value(element), let value = try? JSONParser.parse(source.bytes(range)) {
                properties.append((element, value))
            }
        }
        return additionalReferences(of: JSONObject(properties), baseURL: baseURL)
    }

    /// The local references to `targetTypes` in one followed element's JSON value, in order,
    /// without duplicates; none when the value is not JSON.
    public static func followedKeys(in value: [UInt8], baseURL: String) -> [ResourceKey] {
        guard let parsed = try? JSONParser.parse(value) else { return [] }
        var keys: [ResourceKey] = []
        for key in ReferenceReader.keys(in: parsed, baseURL: baseURL) where targetTypes.contains(key.type) && !keys.contains(key) {
            keys.append(key)
        }
        return keys
    }
}
