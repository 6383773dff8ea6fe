import ExportDomain
import Storage

extension FHIRService {
    /// `TaskAccess.decide` with what this request knows: the token's client and scopes, and the
    /// Groups the client is registered for now (the registry for the built-in issuer; the
    /// token's `groups` claim for an external issuer, which keeps no registry here).
    func taskAccess(_ task: ExportTask, access: Access) throws -> TaskAccess.Decision {
        guard let client = access.client else { return .allowed }
        let request = try ExportRequest(json: try JSONParser.parse(task.request))
        let groups = settings.smart.builtInAuthorizationServer ? try database.client(client.clientId)?.groups : client.groups
        return TaskAccess.decide(owner: task.clientId, request: request, clientId: client.clientId, scopes: client.scopes,
                                 registeredGroups: groups)
    }

    /// The task, when this client may reach it; otherwise 404 (as if absent) or 403 naming the
    /// read scopes the token lacks.
    func requireTaskAccess(_ task: ExportTask?, access: Access, notFound: FHIRError) throws -> ExportTask {
        guard let task else { throw notFound }
        switch try taskAccess(task, access: access) {
        case .allowed: return task
        case .notFound: throw notFound
        case .missingReads(let missing): throw Access.missingRead(missing)
        }
    }
}
