import ExportDomain
import Storage

extension FHIRService {
    /// The task, when this client may reach it (`AccessPolicy`, `.exportTask`); otherwise 404
    /// (as if absent) or 403 naming the read scopes the token lacks.
    func requireTaskAccess(_ task: ExportTask?, access: Access, notFound: FHIRError) throws -> ExportTask {
        guard let task else { throw notFound }
        let request = try parsedTaskRequests.request(taskId: task.id, text: task.request)
        access.audit.entities += [.group(request.groupId), .task(task.id)]
        try access.require(.exportTask(owner: task.clientId, request), notFound: notFound)
        return task
    }
}
