import ExportDomain
import Storage

/// nginx's `auth_request` for `/files/…`: the signed URL got the request this far; here the
/// bearer token must belong to the task's owner. nginx passes only 401/403 on, so "not yours"
/// is a 403 carrying `X-Deny-Status: 404`, which nginx turns into a 404.
enum FileDownloadAuthorization {
    static let path = FileDownloadAuthorizationPath.path
}

extension FHIRService {
    func authorizeFileDownload(_ request: HTTPRequest) throws -> HTTPResponse {
        let notFound = HTTPResponse(status: 403, headers: [HTTPHeader("X-Deny-Status", "404")])
        let access = Access(client: try security.authenticate(authorization: request.header("authorization"), now: environment.now()))
        let parts = (request.originalURI ?? "").split(separator: "?", maxSplits: 1)[...].first?
            .split(separator: "/", omittingEmptySubsequences: true) ?? []
        guard parts.count == 3, "/" + parts[0] == FileURLSigner.pathPrefix,
              let task = try database.task(String(parts[1])), task.state == .complete, access.owns(task) else {
            return notFound
        }
        return HTTPResponse(status: 204)
    }
}
