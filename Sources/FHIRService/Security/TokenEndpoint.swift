import ExportDomain
import Storage

/// `POST /auth/token`: SMART Backend Services `client_credentials` with a `private_key_jwt`
/// client assertion. Errors are OAuth JSON (RFC 6749 §5.2), not OperationOutcomes.
extension FHIRService {
    /// Every token issued or refused is recorded. An issued token's record commits with the use
    /// of its assertion's `jti`: a token whose issue cannot be recorded is not issued.
    func token(_ request: HTTPRequest, audit: RequestAudit) -> HTTPResponse {
        audit.action = .token
        do {
            return try issueToken(request, audit: audit)
        } catch {
            let rendered = ErrorResponder.renderable(error, dialect: .oauth, logger: logger)
            if let error = rendered as? OAuthError {
                if error.status < 500 {
                    logger.info("token refused", metadata: ["error": "\(error.error)", "reason": "\(error.description)"])
                }
                // Before the assertion is verified the client is only claimed: a detail, never the agent.
                let claimed = TokenRequest.claimedClient(formBody: request.body).map { [AuditDetail("claimed client", String($0.prefix(255)))] } ?? []
                let details = [AuditDetail("status", String(error.status)), AuditDetail("reason", "\(error.error): \(error.description)")] + claimed
                if let record = audit.record(AuditOutcome(httpStatus: error.status), details: details, now: environment.now()) {
                    do { try database.recordAudit(record) } catch {
                        logger.error("audit record not written", metadata: ["action": "token", "error": "\(error)"])
                    }
                }
            }
            return ErrorResponder.response(rendering: rendered)
        }
    }

    private func issueToken(_ request: HTTPRequest, audit: RequestAudit) throws -> HTTPResponse {
        guard request.method == "POST" else {
            throw OAuthError(status: 405, error: "invalid_request", description: "the token endpoint takes POST")
        }
        guard settings.smart.enabled, settings.smart.builtInAuthorizationServer, let signer = security.signer else {
            throw OAuthError(status: 404, error: "invalid_request", description: "the built-in authorization server is off")
        }
        let tokenRequest = try TokenRequest.parse(formBody: request.body, contentType: request.header("content-type"))
        let now = environment.now()
        let assertion = try ClientAssertionValidator.validate(
            assertion: tokenRequest.clientAssertion, tokenURL: settings.smart.tokenEndpoint, now: now,
            clientId: tokenRequest.clientId
        ) { clientId in
            guard let client = try? database.client(clientId) else { return nil }
            return RegisteredClientKeys(keys: clientKeys(client))
        }
        guard let client = try database.client(assertion.clientId) else {
            throw OAuthError(status: 401, error: "invalid_client", description: "unknown client")
        }
        let perMinute = settings.smart.tokenRequestsPerMinute
        let minuteAgo = FHIRInstant(millisecondsSinceEpoch: now.millisecondsSinceEpoch - 60_000)
        guard try database.auditCount(clientId: client.id, action: .token, outcome: .success, since: minuteAgo) < perMinute else {
            throw OAuthError(status: 429, error: "temporarily_unavailable",
                             description: "at most \(perMinute) tokens per minute are issued to a client (SmartAuthorizationOptions.TokenRequestsPerMinute)",
                             retryAfter: 60)
        }
        // A replay is decided before the grant: a replayed assertion is invalid_client whatever it asks for.
        let grant = Result { try ScopeGrant.grant(requested: tokenRequest.scope, allowed: client.scopes) }
        audit.clientId = client.id
        let issued = (try? grant.get()).flatMap { audit.record(.success, details: [AuditDetail("scope", $0)], now: now) }
        guard try database.useAssertion(clientId: assertion.clientId, jti: assertion.jti,
                                        expiresAtMilliseconds: assertion.expiresAt.millisecondsSinceEpoch,
                                        nowMilliseconds: now.millisecondsSinceEpoch, audit: issued) else {
            // A replay is a failed client authentication (SMART: invalid_client), not a bad grant.
            throw OAuthError(status: 401, error: "invalid_client", description: "the client assertion's jti was already used")
        }
        let granted = try grant.get()
        let lifetime = settings.smart.tokenLifetimeSeconds
        let accessToken = signer.issue(clientId: client.id, scope: granted, groups: client.groups,
                                       issuer: settings.smart.issuer, audience: settings.smart.audience,
                                       now: now, lifetimeSeconds: lifetime, jti: environment.newId())
        logger.info("token issued", metadata: ["client-id": "\(client.id)", "scope": "\(granted)"])
        let body = JSONValue.object(JSONObject([
            ("access_token", .string(accessToken)), ("token_type", .string("bearer")),
            ("expires_in", .number(String(lifetime))), ("scope", .string(granted)),
        ]))
        // nginx adds `Cache-Control: no-store` to every response (security-headers.conf).
        let response = HTTPResponse(status: 200, headers: [HTTPHeader("Content-Type", "application/json"), HTTPHeader("Pragma", "no-cache")],
                                    body: body.serialized())
        return response
    }

    /// A client's registered keys: inline JWKS, or fetched from its JWKS URL (cached).
    private func clientKeys(_ client: RegisteredClient) -> [JWK] {
        if let jwks = client.jwks, let value = try? JSONParser.parse(jwks), let set = try? JWKSet(json: value) {
            return set.keys
        }
        if let url = client.jwksURL, let keys = try? security.jwksFetcher.keys(url: url) {
            return keys
        }
        return []
    }

    /// `{base}/.well-known/smart-configuration`.
    func smartConfiguration() -> HTTPResponse {
        let scopes = ["system/*.read", "system/*.rs"]
            + ATRTypes.served.flatMap { ["system/\($0).read", "system/\($0).rs"] }
            + ["system/*.write", "system/*.cud"]
        let body = JSONValue.object(JSONObject([
            ("issuer", .string(settings.smart.issuer)),
            ("token_endpoint", .string(settings.smart.tokenEndpoint)),
            ("grant_types_supported", .array([.string("client_credentials")])),
            ("token_endpoint_auth_methods_supported", .array([.string("private_key_jwt")])),
            ("token_endpoint_auth_signing_alg_values_supported", .array([.string("RS384"), .string("ES384")])),
            ("scopes_supported", .array(scopes.map(JSONValue.string))),
            ("capabilities", .array(["client-confidential-asymmetric", "permission-v1", "permission-v2"].map(JSONValue.string))),
        ]))
        return HTTPResponse(status: 200, headers: [HTTPHeader("Content-Type", "application/json")], body: body.serialized())
    }
}
