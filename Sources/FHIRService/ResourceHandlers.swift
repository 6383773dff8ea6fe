import ExportDomain
import Storage

/// FHIR REST interactions on single resources: read, create, update, delete.
extension FHIRService {
    func read(_ key: ResourceKey, access: Access) throws -> HTTPResponse {
        try requireVisible(key, access: access)
        switch try database.read(key) {
        case .found(let stored):
            return .fhir(200, bytes: try disclosed(key, json: stored.json, access: access), headers: versionHeaders(stored))
        case .deleted(let versionId, _):
            throw FHIRError(status: 410, code: .deleted, "\(key) was deleted",
                            headers: [HTTPHeader("ETag", "W/\"\(versionId)\"")])
        case .missing:
            throw FHIRError.notFound("\(key) is not known")
        }
    }

    func create(_ request: HTTPRequest, type: ResourceType, access: Access) throws -> HTTPResponse {
        try access.require(.write(type, .create), notFound: FHIRError.notFound("\(type) is not known"))
        var resource = try resourceBody(request, idIgnored: true)
        try ResourceInput.checkType(resource, type: type)
        resource["id"] = nil
        let key = ResourceKey(type: type, id: environment.newId())
        let now = environment.now()
        let (stored, _) = try database.writeTransaction { try database.put(resource, as: key, now: now) }
        return writeResponse(201, stored, request: request)
    }

    func update(_ request: HTTPRequest, key: ResourceKey, access: Access) throws -> HTTPResponse {
        try access.require(.write(key.type, try writeAction(key)), notFound: FHIRError.notFound("\(key) is not known"))
        let resource = try resourceBody(request)
        try ResourceInput.checkUpdate(resource, type: key.type, id: key.id)
        let now = environment.now()
        let (stored, created) = try database.writeTransaction { try database.put(resource, as: key, now: now) }
        return writeResponse(created ? 201 : 200, stored, request: request)
    }

    func delete(_ key: ResourceKey, access: Access) throws -> HTTPResponse {
        try access.require(.write(key.type, .delete), notFound: FHIRError.notFound("\(key) is not known"))
        let now = environment.now()
        switch try database.writeTransaction({ try database.delete(key, now: now) }) {
        case .deleted(let versionId):
            return HTTPResponse(status: 204, headers: [HTTPHeader("ETag", "W/\"\(versionId)\"")])
        case .alreadyDeleted:
            return HTTPResponse(status: 204)
        case .missing:
            throw FHIRError.notFound("\(key) is not known")
        }
    }

    /// Read, version read and history of `key` are allowed, or throws exactly what a missing
    /// resource answers (`AccessPolicy`: a provider sees only what its Groups' exports disclose).
    func requireVisible(_ key: ResourceKey, access: Access) throws {
        let notFound = FHIRError.notFound("\(key) is not known")
        let request: AccessPolicy.Request
        switch key.type {
        case "Group":
            request = .group(id: key.id)
        case let type where AccessPolicy.memberTypes.contains(type):
            // Gathering the evidence reads Groups and Consents: only for providers with the scope.
            // A deleted resource is in no export, so it has none.
            let needsEvidence = access.principal.map { $0.role == .provider && $0.scopes.missingRead([type]).isEmpty } ?? false
            var exportedBy: [String] = []
            // Only Groups the client may reach can allow the read.
            if needsEvidence, case .found = try database.read(key) {
                exportedBy = try exportingGroups(of: key) { access.principal?.reaches(groupId: $0) ?? true }
            }
            request = .memberResource(type, exportedBy: exportedBy)
        default:
            request = .resource(key.type)
        }
        try access.require(request, notFound: notFound)
    }

    /// A PUT creates or updates depending on whether the resource exists now.
    func writeAction(_ key: ResourceKey) throws -> WriteAction {
        if case .found = try database.read(key) { return .update }
        return .create
    }

    /// The body of a PUT or POST as a checked resource.
    func resourceBody(_ request: HTTPRequest, idIgnored: Bool = false) throws -> JSONObject {
        guard MediaType.isJSONResource(request.header("content-type")) else {
            let given = request.header("content-type").map { "'\($0)'" } ?? "none"
            throw FHIRError(status: 415, code: .notSupported,
                            "Content-Type must be application/fhir+json or application/json (given: \(given))")
        }
        return try ResourceInput.parseResource(request.body, idIgnored: idIgnored)
    }

    func versionHeaders(_ stored: StoredResource) -> [HTTPHeader] {
        [HTTPHeader("ETag", "W/\"\(stored.versionId)\""), HTTPHeader("Last-Modified", stored.lastUpdated.httpDate)]
    }

    /// 200/201 with the stored resource, or no body with `Prefer: return=minimal`.
    private func writeResponse(_ status: Int, _ stored: StoredResource, request: HTTPRequest) -> HTTPResponse {
        let headers = versionHeaders(stored) + [HTTPHeader("Location", "\(settings.publicBaseURL)/\(VersionLocation.path(stored))")]
        if PreferHeader(request.header("prefer")).returnPreference == "minimal" {
            return HTTPResponse(status: status, headers: headers)
        }
        return .fhir(status, bytes: stored.json, headers: headers)
    }
}
