import ExportDomain
import Storage

/// `POST {base}` with a batch or transaction Bundle.
extension FHIRService {
    func handleBundle(_ request: HTTPRequest, access: Access) throws -> HTTPResponse {
        guard MediaType.isJSONResource(request.header("content-type")) else {
            throw FHIRError(status: 415, code: .notSupported, "Content-Type must be application/fhir+json or application/json")
        }
        let newId = environment.newId
        let bundle = try BundleRequest.parse(request.body) { newId() }
        for case .success(let entry) in bundle.entries {
            let key = ResourceKey(type: entry.type, id: entry.id)
            switch entry.method {
            case .post: try access.requireWrite(entry.type, action: "c")
            case .put: try access.requireWrite(entry.type, action: try writeAction(key))
            case .delete: try access.requireWrite(entry.type, action: "d")
            }
        }
        let now = environment.now()
        let responses: [JSONValue]
        switch bundle.kind {
        case .transaction:
            // All or nothing: one write transaction; the first failing entry rolls back everything.
            responses = try database.writeTransaction {
                try bundle.entries.enumerated().map { index, result in
                    do {
                        return try execute(try result.get(), now: now)
                    } catch let error as FHIRError {
                        throw FHIRError(status: error.status, code: error.code, "entry[\(index)]: \(error.diagnostics)")
                    }
                }
            }
        case .batch:
            responses = bundle.entries.map { result in
                do {
                    let entry = try result.get()
                    return try database.writeTransaction { try execute(entry, now: now) }
                } catch {
                    let failure = ErrorResponder.response(for: error, logger: logger)
                    let outcome = (try? JSONParser.parse(failure.body)) ?? .null
                    return entryResponse(status: failure.status, outcome: outcome)
                }
            }
        }
        let result = JSONValue.object(JSONObject([
            ("resourceType", .string("Bundle")),
            ("type", .string(bundle.kind.responseType)),
            ("entry", .array(responses)),
        ]))
        return .fhir(200, result)
    }

    private func execute(_ entry: BundleRequest.Entry, now: FHIRInstant) throws -> JSONValue {
        let key = ResourceKey(type: entry.type, id: entry.id)
        switch entry.method {
        case .put, .post:
            let (stored, created) = try database.put(entry.resource ?? JSONObject(), as: key, now: now)
            var response = JSONObject([
                ("status", .string(created ? "201 Created" : "200 OK")),
                ("location", .string(versionLocation(stored))),
                ("etag", .string("W/\"\(stored.versionId)\"")),
                ("lastModified", .string(stored.lastUpdated)),
            ])
            response["outcome"] = nil
            return .object(JSONObject([
                ("fullUrl", .string("\(settings.publicBaseURL)/\(key)")),
                ("response", .object(response)),
            ]))
        case .delete:
            switch try database.delete(key, now: now) {
            case .deleted, .alreadyDeleted:
                return entryResponse(status: 204, outcome: nil)
            case .missing:
                throw FHIRError.notFound("\(key) is not known")
            }
        }
    }

    private func entryResponse(status: Int, outcome: JSONValue?) -> JSONValue {
        var response = JSONObject([("status", .string("\(status) \(HTTPResponse.reasonPhrase(status))"))])
        if let outcome { response["outcome"] = outcome }
        return .object(JSONObject([("response", .object(response))]))
    }
}
