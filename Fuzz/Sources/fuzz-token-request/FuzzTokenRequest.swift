import ExportDomain
import FuzzSupport

/// The token endpoint's form: `Content-Type` on the first line, the body after it.
@main enum FuzzTokenRequest {
    static func main() {
        FuzzDriver.run { input in
            let (contentType, body) = input.lineAndBody
            _ = TokenRequest.claimedClient(formBody: body)
            guard let request = try? TokenRequest.parse(formBody: body, contentType: contentType)
            else { return }
            require(request.grantType == TokenRequest.clientCredentials, "accepted grant_type \(request.grantType)")
            require(request.clientAssertionType == TokenRequest.jwtBearerAssertionType, "accepted an assertion type")
            require(!request.clientAssertion.isEmpty, "accepted an empty assertion")
            require(request.scope.contains { $0 != " " }, "accepted an empty scope")
            require(request.clientId?.isEmpty != true, "kept an empty client_id")
        }
    }
}
