import ExportDomain
import Storage

/// nginx's `auth_request` for `/files/…`, asked on every download so every download is in the
/// audit trail. The signed URL got the request this far; with `RequiresAccessToken` the bearer
/// token must also belong to the task's owner, who must still be registered for the Group and
/// still read what the export needs (`AccessPolicy`). nginx passes only 401/403 on, so "not
/// yours" is a 403 carrying `X-Deny-Status: 404`, which nginx turns into a 404.
enum FileDownloadAuthorization {
    static let path = FileDownloadAuthorizationPath.path
}

extension FHIRService {
    func authorizeFileDownload(_ request: HTTPRequest, audit: RequestAudit) throws -> HTTPResponse {
        let notFound = HTTPResponse(status: 403, headers: [HTTPHeader("X-Deny-Status", "404")])
        // nginx passes the normalised path it serves (`$uri`); anything else is refused outright.
        let path = request.originalURI ?? ""
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, "/" + parts[1] == FileURLSigner.pathPrefix,
              !path.contains("%"), !parts.contains(".."), !parts.contains(".") else {
            return notFound
        }
        let (taskId, name) = (String(parts[2]), String(parts[3]))
        defer { audit.entities.append(.file(task: taskId, name: name)) }
        guard settings.bulkDataExport.requiresAccessToken else {
            // The signed URL alone opens the file: whoever holds it is not known by name.
            audit.entities = [.task(taskId)]
            guard let task = try database.task(taskId), task.state == .complete,
                  let manifest = task.storedManifest, manifest.fileNames.contains(name) else { return notFound }
            return HTTPResponse(status: 204)
        }
        let access = try access(request, audit: audit)
        do {
            _ = try requireTaskAccess(try database.task(taskId), access: access, notFound: FHIRError.notFound("no such file"))
        } catch let error as FHIRError where error.status == 404 {
            return notFound
        }
        guard let task = try database.task(taskId), task.state == .complete,
              let manifest = task.storedManifest, manifest.fileNames.contains(name) else {
            return notFound
        }
        return HTTPResponse(status: 204)
    }
}
