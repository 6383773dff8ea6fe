/// The keys registered for a client (inline, from a PEM file, or a fetched JWKS).
public struct RegisteredClientKeys: Sendable {
    public var keys: [JWK]

    public init(keys: [JWK]) {
        self.keys = keys
    }
}

/// A client assertion that passed every check but the `jti` replay check, which the caller
/// makes against its store, keeping the `jti` until `expiresAt`.
public struct ValidatedAssertion: Sendable, Equatable {
    public var clientId: String
    public var jti: String
    public var expiresAt: FHIRInstant

    public init(clientId: String, jti: String, expiresAt: FHIRInstant) {
        self.clientId = clientId
        self.jti = jti
        self.expiresAt = expiresAt
    }
}

/// Checks a SMART Backend Services client assertion (SMART App Launch 2 "Backend Services",
/// RFC 7523 §3). Every failure is `invalid_client` (401), as RFC 7521 §4.2.1 prescribes.
public enum ClientAssertionValidator {
    /// The longest an assertion may live: SMART says `exp` is no more than five minutes ahead.
    public static let maximumLifetimeSeconds: Int64 = 300
    /// Clock skew tolerated on `exp` (both ways) and `nbf`.
    public static let defaultLeewaySeconds = 30
    /// Longest `jti` accepted (it is stored for replay detection).
    public static let maximumJTILength = 255
    /// Algorithms a client may sign with.
    public static let allowedAlgorithms: Set<String> = ["RS384", "ES384"]

    /// - Parameters:
    ///   - assertion: the `client_assertion` form parameter.
    ///   - tokenURL: this server's token endpoint URL; `aud` must be it (or contain it).
    ///   - clientId: the optional `client_id` form parameter; when given it must equal `iss`.
    ///   - client: the keys registered for a client id, `nil` for an unknown client.
    public static func validate(
        assertion: String, tokenURL: String, now: FHIRInstant, clientId: String? = nil,
        leewaySeconds: Int = defaultLeewaySeconds,
        client: (String) -> RegisteredClientKeys?
    ) throws(OAuthError) -> ValidatedAssertion {
        let jwt: JWT
        do {
            jwt = try JWT.decode(assertion)
        } catch {
            throw .invalidClient("the client assertion is not a JWT: \(error.message)")
        }
        guard let algorithm = jwt.algorithm, allowedAlgorithms.contains(algorithm) else {
            throw .invalidClient(
                "the client assertion's algorithm '\(jwt.algorithm ?? "")' is not allowed; use RS384 or ES384")
        }

        guard let issuer = jwt.stringClaim("iss"), !issuer.isEmpty else {
            throw .invalidClient("the client assertion has no \"iss\" (the client id)")
        }
        guard jwt.stringClaim("sub") == issuer else {
            throw .invalidClient("the client assertion's \"sub\" must equal its \"iss\" (the client id)")
        }
        if let clientId, clientId != issuer {
            throw .invalidClient("client_id does not match the client assertion's \"iss\"")
        }
        guard let registration = client(issuer) else {
            throw .invalidClient("unknown client '\(issuer)'")
        }

        guard !registration.keys.isEmpty else {
            throw .invalidClient("client '\(issuer)' has no registered key")
        }
        let candidates = JWKSet(keys: registration.keys).candidates(for: jwt)
        guard !candidates.isEmpty else {
            throw .invalidClient(
                "no key registered for client '\(issuer)' has kid '\(jwt.keyID ?? "")' (nor that RFC 7638 thumbprint)")
        }
        guard candidates.contains(where: { $0.verify(jwt) }) else {
            throw .invalidClient("the client assertion's signature does not verify with the client's keys")
        }

        guard jwt.hasAudience(tokenURL) else {
            throw .invalidClient("the client assertion's \"aud\" must be the token URL \(tokenURL)")
        }
        let nowSeconds = NumericDate.seconds(now)
        let leeway = Int64(max(0, leewaySeconds))
        guard let expires = jwt.numericDate("exp") else {
            throw .invalidClient("the client assertion has no numeric \"exp\"")
        }
        guard expires + leeway > nowSeconds else {
            throw .invalidClient("the client assertion has expired")
        }
        guard expires <= nowSeconds + maximumLifetimeSeconds + leeway else {
            throw .invalidClient(
                "the client assertion's \"exp\" is more than \(maximumLifetimeSeconds) seconds in the future")
        }
        if jwt.payload["nbf"] != nil {
            guard let notBefore = jwt.numericDate("nbf"), notBefore <= nowSeconds + leeway else {
                throw .invalidClient("the client assertion is not valid yet (\"nbf\")")
            }
        }
        guard let jti = jwt.stringClaim("jti"), !jti.isEmpty else {
            throw .invalidClient("the client assertion has no \"jti\"")
        }
        guard jti.utf8.count <= maximumJTILength else {
            throw .invalidClient("the client assertion's \"jti\" is longer than \(maximumJTILength) bytes")
        }
        return ValidatedAssertion(clientId: issuer, jti: jti, expiresAt: NumericDate.instant(expires))
    }
}
