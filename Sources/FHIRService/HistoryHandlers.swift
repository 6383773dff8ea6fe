import ExportDomain
import Storage

/// `GET {type}/{id}/_history` and `GET {type}/{id}/_history/{vid}`. Only the current version
/// (or the deletion) is stored, so the history holds one entry and a version read finds only
/// the current version.
extension FHIRService {
    func history(_ key: ResourceKey, access: Access) throws -> HTTPResponse {
        try requireVisible(key, access: access)
        var entry: JSONObject
        switch try database.read(key) {
        case .found(let stored):
            entry = JSONObject([
                ("fullUrl", .string("\(settings.publicBaseURL)/\(key)")),
                ("resource", try JSONParser.parse(stored.json)),
                ("request", ["method": stored.versionId == 1 ? "POST" : "PUT", "url": .string(key.description)]),
                ("response", ["status": "200", "etag": .string("W/\"\(stored.versionId)\""),
                              "lastModified": .string(stored.lastUpdated.description)]),
            ])
        case .deleted(let versionId, let lastUpdated):
            entry = JSONObject([
                ("fullUrl", .string("\(settings.publicBaseURL)/\(key)")),
                ("request", ["method": "DELETE", "url": .string(key.description)]),
                ("response", ["status": "410", "etag": .string("W/\"\(versionId)\""), "lastModified": .string(lastUpdated.description)]),
            ])
        case .missing:
            throw FHIRError.notFound("\(key) is not known")
        }
        let bundle = JSONValue.object(JSONObject([
            ("resourceType", "Bundle"), ("type", "history"), ("total", 1),
            ("link", [["relation": "self", "url": .string("\(settings.publicBaseURL)/\(key)/_history")]]),
            ("entry", [.object(entry)]),
        ]))
        return .fhir(200, bundle)
    }

    func versionRead(_ key: ResourceKey, versionId: String, access: Access) throws -> HTTPResponse {
        try requireVisible(key, access: access)
        let notKept = FHIRError.notFound("Version \(versionId) of \(key) is not known (only the current version is kept)")
        switch try database.read(key) {
        case .found(let stored):
            guard String(stored.versionId) == versionId else { throw notKept }
            return .fhir(200, bytes: stored.json, headers: versionHeaders(stored))
        case .deleted(let current, _):
            guard String(current) == versionId else { throw notKept }
            throw FHIRError(status: 410, code: .deleted, "\(key) was deleted", headers: [HTTPHeader("ETag", "W/\"\(current)\"")])
        case .missing:
            throw FHIRError.notFound("\(key) is not known")
        }
    }
}
