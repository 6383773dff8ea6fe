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
        var writes: [AccessPolicy.Write] = []
        for case .success(let entry) in bundle.entries {
            let key = ResourceKey(type: entry.type, id: entry.id)
            switch entry.method {
            case .post: writes.append(AccessPolicy.Write(entry.type, .create))
            case .put: writes.append(AccessPolicy.Write(entry.type, try writeAction(key)))
            case .delete: writes.append(AccessPolicy.Write(entry.type, .delete))
            }
        }
        try access.require(.bundle(writes), notFound: FHIRError.notFound("No FHIR endpoint here"))
        let results = try BundleExecutor(database: database, baseURL: settings.publicBaseURL).execute(bundle, now: environment.now())
        let responses = results.map { result -> JSONValue in
            switch result {
            case .done(let response, _):
                return response
            case .failed(let error):
                let failure = ErrorResponder.renderable(error, logger: logger)
                return BundleExecutor.entryResponse(status: failure.status, outcome: failure.body)
            }
        }
        let result = JSONValue.object(JSONObject([
            ("resourceType", .string("Bundle")),
            ("type", .string(bundle.kind.responseType)),
            ("entry", .array(responses)),
        ]))
        return .fhir(200, result)
    }
}
