import ExportDomain
import Storage

/// nginx's `auth_request` for `/files/…`: the signed URL got the request this far; here the
/// bearer token must belong to the task's owner, who must still be registered for the Group
/// and still read what the export needs (`TaskAccess`). nginx passes only 401/403 on, so "not yours"
/// is a 403 carrying `X-Deny-Status: 404`, which nginx turns into a 404.
enum FileDownloadAuthorization {
    static let path = FileDownloadAuthorizationPath.path
}

extension FHIRService {
    func authorizeFileDownload(_ request: HTTPRequest) throws -> HTTPResponse {
        let notFound = HTTPResponse(status: 403, headers: [HTTPHeader("X-Deny-Status", "404")])
        let access = Access(client: try security.authenticate(authorization: request.header("authorization"), now: environment.now()))
        // nginx passes the normalised path it serves (`$uri`); anything else is refused outright.
        let path = request.originalURI ?? ""
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, "/" + parts[1] == FileURLSigner.pathPrefix,
              !path.contains("%"), !parts.contains(".."), !parts.contains("."),
              let task = try database.task(String(parts[2])), task.state == .complete,
              let manifest = task.storedManifest, manifest.fileNames.contains(String(parts[3])) else {
            return notFound
        }
        switch try taskAccess(task, access: access) {
        case .allowed: return HTTPResponse(status: 204)
        case .notFound: return notFound
        case .missingReads(let missing): throw Access.missingRead(missing)
        }
    }
}
