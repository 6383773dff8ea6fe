import ExportDomain
import Runtime
import Foundation
import Storage

/// nginx's `auth_request` for `/files/…`, asked on every download so that every download and
/// every refused one is in the audit trail. nginx passes the `secure_link` verdict on
/// (`ATR_LINK_STATE`: empty = bad signature, `0` = expired, `1` = valid); with
/// `RequiresAccessToken` the bearer token must also belong to the task's owner, still registered
/// for the Group and still reading what the export needs (`AccessPolicy`); without it the
/// owner's registration is checked all the same. nginx passes only 401/403 on, so every refusal
/// is a 403 carrying `X-Deny-Status` (403, 404 or 410), which nginx turns into that status.
enum FileDownloadAuthorization {
    static let path = FileDownloadAuthorizationPath.path
}

extension FHIRService {
    func authorizeFileDownload(_ request: HTTPRequest, audit: RequestAudit) throws -> HTTPResponse {
        func deny(_ status: Int, hidden: Bool = false) -> HTTPResponse {
            audit.statusShown = status
            audit.hidden = audit.hidden || hidden
            return HTTPResponse(status: 403, headers: [HTTPHeader("X-Deny-Status", String(status))])
        }
        // nginx passes the normalised path it serves (`$uri`); anything else is refused outright.
        guard let download = FileDownloadPath(request.originalURI ?? "") else { return deny(404) }
        let (taskId, name) = (download.taskId, download.file)
        defer { audit.entities.append(.file(task: taskId, name: name)) }
        switch request.linkState {
        case "1": break
        case "0":
            audit.entities = [.task(taskId)]
            return deny(410)
        default:
            audit.entities = [.task(taskId)]
            return deny(403)
        }
        guard settings.bulkDataExport.requiresAccessToken else {
            // The signed URL alone opens the file: whoever holds it is not known by name, but
            // the owner must still be registered for the Group.
            audit.entities = [.task(taskId)]
            guard let task = try database.task(taskId), task.state == .complete,
                  let manifest = task.storedManifest, manifest.fileNames.contains(name) else { return deny(404) }
            guard try ownerStillReaches(task) else { return deny(404, hidden: true) }
            return granted(taskId: taskId, name: name)
        }
        let access = try access(request, audit: audit)
        do {
            _ = try requireTaskAccess(try database.task(taskId), access: access, notFound: FHIRError.notFound("no such file"))
        } catch let error as FHIRError where error.status == 404 {
            return deny(404)
        }
        guard let task = try database.task(taskId), task.state == .complete,
              let manifest = task.storedManifest, manifest.fileNames.contains(name) else {
            return deny(404)
        }
        return granted(taskId: taskId, name: name)
    }

    /// nginx sends the file itself; its size is what the metrics count as handed out.
    private func granted(taskId: String, name: String) -> HTTPResponse {
        let path = TaskFiles(root: settings.taskFileStoragePath).finalDirectory(taskId) + "/" + name
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int { metrics.recordDownload(bytes: size) }
        return HTTPResponse(status: 204)
    }

    /// For a link without a token: the task's owner, as the registry knows it now (its allowed
    /// scopes standing in for a token's), may still reach the task (`AccessPolicy`, `.exportTask`).
    private func ownerStillReaches(_ task: ExportTask) throws -> Bool {
        guard settings.smart.enabled, settings.smart.builtInAuthorizationServer, let owner = task.clientId else { return true }
        let request = try ExportRequest(json: try JSONParser.parse(task.request))
        let registered = try database.client(owner)
        let principal = ClientPrincipal(clientId: owner, role: registered?.role ?? .provider,
                                        scopes: ScopeSet(granted: registered?.scopes ?? ""), groups: registered?.groups)
        return AccessPolicy.decide(principal, .exportTask(owner: owner, request)) == .allowed
    }
}
