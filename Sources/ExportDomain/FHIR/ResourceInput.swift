/// Checks that turn a request body into a resource this server will store.
public enum ResourceInput {
    /// Parses a body that must be one JSON object with a known, storable `resourceType`.
    /// `idIgnored`: a POST (create) ignores the body's id, so it is not checked either.
    public static func parseResource(_ body: [UInt8], idIgnored: Bool = false) throws -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw FHIRError.badRequest(.structure, "The body is not valid JSON: \(error)")
        }
        return try resourceObject(value, idIgnored: idIgnored)
    }

    /// Checks an already parsed value (a Bundle entry's resource, an NDJSON line).
    public static func resourceObject(_ value: JSONValue, idIgnored: Bool = false) throws -> JSONObject {
        guard case .object(let object) = value else {
            throw FHIRError.badRequest(.structure, "The body must be a JSON object holding a FHIR resource")
        }
        guard let typeValue = object["resourceType"] else {
            throw FHIRError.badRequest(.required, "The resource has no resourceType")
        }
        guard let type = typeValue.stringValue else {
            throw FHIRError.badRequest(.structure, "resourceType must be a string")
        }
        guard ResourceTypes.all.contains(type) else {
            throw FHIRError.badRequest(.notSupported, "Unknown resourceType '\(type)': not a FHIR R4 resource type")
        }
        guard ResourceTypes.isStorable(ResourceType(type)) else {
            throw FHIRError.badRequest(.notSupported, "Resources of type '\(type)' cannot be stored")
        }
        if let id = object["id"], !idIgnored {
            guard let text = id.stringValue, ResourceID.isValid(text) else {
                throw FHIRError.badRequest(.value, "The resource id must match [A-Za-z0-9\\-\\.]{1,64}")
            }
        }
        try PrimitiveValues.check(object, type: type, ignoring: idIgnored ? ["id"] : [])
        return object
    }

    /// A type named in a URL: unknown types are "not found" in the REST sense.
    public static func checkURLType(_ type: ResourceType) throws {
        guard ResourceTypes.isStorable(type) else {
            throw FHIRError(status: 404, code: .notSupported, "Unknown or unsupported resource type '\(type)' in the URL")
        }
    }

    public static func checkURLId(_ id: String) throws {
        guard ResourceID.isValid(id) else {
            throw FHIRError.badRequest(.value, "Invalid resource id in the URL: an id must match [A-Za-z0-9\\-\\.]{1,64}")
        }
    }

    /// Rules for `PUT Type/id`: the body's type and id must equal the URL's.
    public static func checkUpdate(_ resource: JSONObject, type: ResourceType, id: String) throws {
        try checkType(resource, type: type)
        guard let bodyId = resource["id"]?.stringValue else {
            throw FHIRError.badRequest(.invalid, "The resource in a PUT must have an id equal to the id in the URL ('\(id)')")
        }
        guard bodyId == id else {
            throw FHIRError.badRequest(.invalid, "The resource id '\(bodyId)' does not match the id in the URL ('\(id)')")
        }
    }

    public static func checkType(_ resource: JSONObject, type: ResourceType) throws {
        let bodyType = resource["resourceType"]?.stringValue ?? ""
        guard bodyType == type.rawValue else {
            throw FHIRError.badRequest(.invalid, "The resourceType '\(bodyType)' does not match the type in the URL ('\(type)')")
        }
    }

    /// Sets the server-owned `id`, `meta.versionId` and `meta.lastUpdated`, keeping every other element.
    public static func stamp(_ resource: inout JSONObject, id: String, versionId: Int, lastUpdated: FHIRInstant) {
        if resource["id"] == nil {
            let typePosition = resource.keys.firstIndex(of: "resourceType") ?? -1
            resource.insert(.string(id), forKey: "id", at: typePosition + 1)
        } else {
            resource["id"] = .string(id)
        }
        var meta = resource["meta"]?.objectValue ?? JSONObject()
        meta["versionId"] = .string(String(versionId))
        meta["lastUpdated"] = .string(lastUpdated.description)
        if resource["meta"] == nil {
            let idPosition = resource.keys.firstIndex(of: "id") ?? 0
            resource.insert(.object(meta), forKey: "meta", at: idPosition + 1)
        } else {
            resource["meta"] = .object(meta)
        }
    }
}

public enum MediaType {
    /// What every FHIR JSON response is sent as.
    public static let fhirJSON = "application/fhir+json; charset=utf-8"

    /// `application/fhir+json` or `application/json`, parameters (charset, fhirVersion) allowed.
    public static func isJSONResource(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let essence = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: " \t").lowercased()
        } ?? ""
        return essence == "application/fhir+json" || essence == "application/json"
    }
}

extension StringProtocol {
    func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
