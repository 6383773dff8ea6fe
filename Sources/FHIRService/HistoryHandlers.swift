import ExportDomain
import Storage

/// `GET {type}/{id}/_history` (newest first, deletions included) and `GET {type}/{id}/_history/{vid}`:
/// every version kept, for what the client may see now (`requireVisible`). A provider sees every
/// version of its own lists, but of a Patient, Coverage or RelatedPerson only the current one:
/// that it is disclosed now says nothing about whose an earlier version was.
extension FHIRService {
    func history(_ key: ResourceKey, access: Access) throws -> HTTPResponse {
        try requireVisible(key, access: access)
        let versions = try database.history(key, limit: currentOnly(key, access) ? 1 : Int.max)
        guard !versions.isEmpty else { throw FHIRError.notFound("\(key) is not known") }
        let entries: [JSONValue] = try versions.map { version in
            var entry = JSONObject([("fullUrl", .string("\(settings.publicBaseURL)/\(key)"))])
            let etag = JSONValue.string("W/\"\(version.versionId)\"")
            let lastModified = JSONValue.string(version.lastUpdated.description)
            if let json = version.json {
                entry["resource"] = try JSONParser.parse(try disclosed(key, json: json, access: access))
                entry["request"] = ["method": version.versionId == 1 ? "POST" : "PUT", "url": .string(key.description)]
                entry["response"] = ["status": version.versionId == 1 ? "201" : "200", "etag": etag, "lastModified": lastModified]
            } else {
                entry["request"] = ["method": "DELETE", "url": .string(key.description)]
                entry["response"] = ["status": "204", "etag": etag, "lastModified": lastModified]
            }
            return .object(entry)
        }
        let bundle = JSONValue.object(JSONObject([
            ("resourceType", "Bundle"), ("type", "history"), ("total", .integer(entries.count)),
            ("link", [["relation": "self", "url": .string("\(settings.publicBaseURL)/\(key)/_history")]]),
            ("entry", .array(entries)),
        ]))
        return .fhir(200, bundle)
    }

    func versionRead(_ key: ResourceKey, versionId: String, access: Access) throws -> HTTPResponse {
        try requireVisible(key, access: access)
        let notKnown = FHIRError.notFound("Version \(versionId) of \(key) is not known")
        guard let number = Int(versionId), number > 0, let version = try database.version(key, number) else { throw notKnown }
        if currentOnly(key, access), try database.history(key, limit: 1).first?.versionId != number { throw notKnown }
        guard let json = version.json else {
            throw FHIRError(status: 410, code: .deleted, "Version \(versionId) of \(key) is a deletion",
                            headers: [HTTPHeader("ETag", "W/\"\(version.versionId)\"")])
        }
        return .fhir(200, bytes: try disclosed(key, json: json, access: access), headers: [HTTPHeader("ETag", "W/\"\(version.versionId)\""),
                                                 HTTPHeader("Last-Modified", version.lastUpdated.httpDate)])
    }

    private func currentOnly(_ key: ResourceKey, _ access: Access) -> Bool {
        access.principal?.role == .provider && AccessPolicy.memberTypes.contains(key.type)
    }
}
