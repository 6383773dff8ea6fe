/// Reducing resources for an export: the `SUBSETTED` tag, Bulk Data `_elements`, and
/// removing Group members.
public enum Subsetting {
    public static let tagSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
    public static let tagCode = "SUBSETTED"
    public static let tagDisplay = "subsetted"

    /// Elements kept by `_elements` whatever the selectors say.
    public static let mandatoryElements: Set<String> = ["resourceType", "id", "meta"]

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

    /// Bulk Data `_elements`: keeps `resourceType`, `id`, `meta` and the root elements named by
    /// the selectors that apply to this resource's type (an untyped selector applies to every
    /// type). A kept element keeps its primitive companion (`birthDate` keeps `_birthDate`).
    /// When no selector applies, the resource is returned unchanged. When anything was
    /// removed, the result carries the `SUBSETTED` tag and `changed` is true. Key order is kept.
    public static func applyElements(_ resource: JSONObject, selectors: [ElementSelector]) -> (JSONObject, changed: Bool) {
        let type = resource["resourceType"]?.stringValue
        var keep = Set<String>()
        var applies = false
        for selector in selectors where selector.type == nil || selector.type == type {
            applies = true
            keep.insert(selector.element)
        }
        guard applies else { return (resource, false) }
        keep.formUnion(mandatoryElements)
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

    /// Keeps only the `member` entries for which `keep` is true (an emptied `member` is
    /// removed); adds the `SUBSETTED` tag when anything was removed.
    public static func removingMembers(from group: JSONObject, keep: (JSONObject) -> Bool) -> (JSONObject, removed: Int) {
        guard let members = group["member"]?.arrayValue else { return (group, 0) }
        let kept = members.filter { value in
            // A member entry that is not an object cannot be judged: keep it untouched.
            guard let object = value.objectValue else { return true }
            return keep(object)
        }
        let removed = members.count - kept.count
        guard removed > 0 else { return (group, 0) }
        var result = group
        if kept.isEmpty {
            result.removeValue(forKey: "member")
        } else {
            result["member"] = .array(kept)
        }
        addSubsettedTag(&result)
        return (result, removed)
    }
}
