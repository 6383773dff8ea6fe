/// Reducing resources for an export: the `SUBSETTED` tag, Bulk Data `_elements`, and
/// removing Group members.
public enum Subsetting {
    public static let tagSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
    public static let tagCode = "SUBSETTED"
    public static let tagDisplay = "subsetted"

    /// Elements kept by `_elements` whatever the selectors say.
    public static let alwaysKeptElements: Set<String> = ["resourceType", "id", "meta"]

    /// Whether `resource` already carries the `SUBSETTED` tag.
    public static func hasSubsettedTag(_ resource: JSONObject) -> Bool {
        guard let tags = resource["meta"]?["tag"]?.arrayValue else { return false }
        return tags.contains { $0["system"]?.stringValue == tagSystem && $0["code"]?.stringValue == tagCode }
    }

    /// Adds `{"system": v3-ObservationValue, "code": "SUBSETTED", "display": "subsetted"}` to
    /// `meta.tag`, once. A missing `meta` is created right after `id` (or after
    /// `resourceType` when there is no `id`); a missing `tag` is appended to `meta`.
    public static func addSubsettedTag(_ resource: inout JSONObject) {
        guard !hasSubsettedTag(resource) else { return }
        let tag: JSONValue = ["system": .string(tagSystem), "code": .string(tagCode), "display": .string(tagDisplay)]
        if var meta = resource["meta"]?.objectValue {
            var tags = meta["tag"]?.arrayValue ?? []
            tags.append(tag)
            meta["tag"] = .array(tags)
            resource["meta"] = .object(meta)
        } else {
            // Absent, null or not an object: (re)place it after id.
            resource.removeValue(forKey: "meta")
            let anchor = resource.index(forKey: "id") ?? resource.index(forKey: "resourceType") ?? -1
            resource.insert(["tag": [tag]], forKey: "meta", at: anchor + 1)
        }
    }

    /// Bulk Data `_elements`: keeps `resourceType`, `id`, `meta`, the elements FHIR R4 marks
    /// mandatory for the type (`R4MandatoryElements`: Coverage `status`, `beneficiary`, `payor`)
    /// and the root elements named by the selectors that apply to this resource's type (an
    /// untyped selector applies to every type). A kept element keeps its primitive companion
    /// (`birthDate` keeps `_birthDate`).
    /// When no selector applies, the resource is returned unchanged. When anything was
    /// removed, the result carries the `SUBSETTED` tag and `changed` is true. Key order is kept.
    public static func applyElements(_ resource: JSONObject, selectors: [ElementSelector]) -> (JSONObject, changed: Bool) {
        let type = resource["resourceType"]?.stringValue.map(ResourceType.init(rawValue:))
        guard let keep = keptElements(type: type, selectors: selectors) else { return (resource, false) }
        var result = JSONObject(minimumCapacity: resource.count)
        var changed = false
        for (key, value) in resource {
            let name = key.hasPrefix("_") ? String(key.dropFirst()) : key
            if keep.contains(name) {
                result[key] = value
            } else {
                changed = true
            }
        }
        guard changed else { return (resource, false) }
        addSubsettedTag(&result)
        return (result, true)
    }

    /// The root element names `_elements` keeps in a resource of `type` (a kept name keeps its
    /// `_name` companion too); nil when no selector applies to the type, so nothing is removed.
    public static func keptElements(type: ResourceType?, selectors: [ElementSelector]) -> Set<String>? {
        var keep = Set<String>()
        var applies = false
        for selector in selectors where selector.type == nil || selector.type == type {
            applies = true
            keep.insert(selector.element)
        }
        guard applies else { return nil }
        keep.formUnion(alwaysKeptElements)
        if let type { keep.formUnion(R4MandatoryElements.elements(of: type)) }
        return keep
    }

    /// A Group search's `_summary=true` form of a stored Group: every element but `member`,
    /// tagged SUBSETTED when it had members (the ATR IG's point of `_summary=true`: discovery
    /// without the list). Only the other elements are parsed, so a list of a million members
    /// costs a byte scan, not a parse. Nil when the bytes are not a JSON object.
    public static func groupWithoutMembers(_ stored: [UInt8]) -> [UInt8]? {
        guard let scan = ResourceScan(stored) else { return nil }
        var group = JSONObject(minimumCapacity: scan.properties.count)
        var removed = false
        for property in scan.properties {
            guard property.key != "member" else {
                removed = true
                continue
            }
            guard let value = try? JSONParser.parse(stored[property.value]) else { return nil }
            group[property.key] = value
        }
        guard removed else { return stored }
        addSubsettedTag(&group)
        return JSONValue.object(group).serialized()
    }

    /// Whether a `Group.member` element stays in the exported Group: every element except one
    /// whose `entity` is an opted-out member's Patient. An element that cannot be read stays as
    /// it is. The exported Group is then tagged SUBSETTED, and a `member` left empty is dropped.
    public static func keepsMember(_ element: JSONValue?, optedOut: Set<String>, baseURL: String) -> Bool {
        guard let key = ReferenceReader.key(of: element?["entity"], baseURL: baseURL), key.type == "Patient" else { return true }
        return !optedOut.contains(key.id)
    }

    private static let entityName = [Array("entity".utf8)]

    /// `keepsMember` for a member element's stored JSON, parsing only its `entity`: the same
    /// answer for JSON this server wrote (valid; an escaped name takes the full parse).
    public static func keepsMember(entityOf element: [UInt8], optedOut: Set<String>, baseURL: String) -> Bool {
        guard let entity = ResourceScan.values(of: entityName, in: element) else {
            return keepsMember(try? JSONParser.parse(element), optedOut: optedOut, baseURL: baseURL)
        }
        guard let range = entity[0], let key = MemberBytes.reference(element, range, baseURL: baseURL), key.type == "Patient" else { return true }
        return !optedOut.contains(key.id)
    }

    /// A whole parsed Group without the elements of opted-out members (`keepsMember`), tagged
    /// SUBSETTED when any was removed: what a provider's REST read of its list shows, as the
    /// export does (which streams the same rule over the stored bytes instead).
    public static func withoutOptedOut(_ group: JSONObject, optedOut: Set<String>, baseURL: String) -> JSONObject {
        guard !optedOut.isEmpty, let members = group["member"]?.arrayValue else { return group }
        let kept = members.filter { keepsMember($0, optedOut: optedOut, baseURL: baseURL) }
        guard kept.count < members.count else { return group }
        var result = group
        if kept.isEmpty { result.removeValue(forKey: "member") } else { result["member"] = .array(kept) }
        addSubsettedTag(&result)
        return result
    }
}
