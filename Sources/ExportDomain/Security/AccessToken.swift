import Crypto

/// What a verified access token says.
public struct AccessTokenClaims: Sendable, Equatable {
    /// `client_id`, or `sub` when an external issuer leaves `client_id` out.
    public var clientId: String
    /// The granted scopes, space-separated (`scope`; an `scp` array is joined).
    public var scope: String
    /// The Groups the client may export (`*` = all); empty when the claim is absent.
    public var groups: [String]
    /// `role` (`provider` or `admin`), set by an external issuer; nil when absent. The built-in
    /// issuer leaves it out: the client registry says the role on every request.
    public var role: String?
    public var expiresAt: FHIRInstant
    /// `jti`, when the issuer sets one.
    public var jti: String?

    public init(clientId: String, scope: String, groups: [String], role: String? = nil, expiresAt: FHIRInstant, jti: String?) {
        self.clientId = clientId
        self.scope = scope
        self.groups = groups
        self.role = role
        self.expiresAt = expiresAt
        self.jti = jti
    }

    /// The parsed scopes.
    public var scopes: ScopeSet { ScopeSet(granted: scope) }

    /// Whether the client may export `groupId` (`*` = every Group).
    public func mayAccessGroup(_ groupId: String) -> Bool {
        groups.contains("*") || groups.contains(groupId)
    }
}

/// Signs the server's own access tokens: JWTs (RFC 9068 `at+jwt`) signed ES384 with a P-384 key.
public struct AccessTokenSigner: Sendable {
    /// Access tokens never live longer than this (seconds).
    public static let maximumLifetimeSeconds = 300

    private let privateKey: P384.Signing.PrivateKey
    public let kid: String
    /// The public key, to verify what this signer issued.
    public let publicKey: JWK

    /// - Parameters:
    ///   - privateKeyPEM: a P-384 private key (`BEGIN PRIVATE KEY` or `BEGIN EC PRIVATE KEY`).
    ///   - kid: the key id put in token headers and the published JWK; by default the RFC 7638
    ///     thumbprint of the public key.
    public init(privateKeyPEM: String, kid: String? = nil) throws(TokenError) {
        let privateKey: P384.Signing.PrivateKey
        do {
            privateKey = try P384.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw TokenError("the access token signing key is not a PEM P-384 private key")
        }
        let anonymous = try JWK(p384: privateKey.publicKey, kid: nil, alg: nil, use: nil)
        let kid = kid ?? anonymous.thumbprint
        self.privateKey = privateKey
        self.kid = kid
        publicKey = try anonymous.with(kid: kid, alg: "ES384", use: "sig")
    }

    /// A new P-384 private key as PKCS#8 PEM (`atrctl` writes it to the key file).
    public static func generatePrivateKeyPEM() -> String {
        P384.Signing.PrivateKey().pemRepresentation
    }

    /// The public JWK (with `kid`, `alg` `ES384`, `use` `sig`), for a JWKS document.
    public var publicJWK: JSONValue { publicKey.json }

    /// A signed access token with the claims `iss`, `sub` (= `client_id`), `client_id`, `aud`,
    /// `iat`, `nbf`, `exp`, `jti`, `scope` and `groups`. `lifetimeSeconds` is clamped to
    /// 1…`maximumLifetimeSeconds`.
    ///
    /// ECDSA signing with a key that parsed cannot fail on valid input; should BoringSSL
    /// itself fail (no memory, no randomness) this traps rather than issue an unsigned token.
    public func issue(
        clientId: String, scope: String, groups: [String], issuer: String, audience: String,
        now: FHIRInstant, lifetimeSeconds: Int, jti: String
    ) -> String {
        let issuedAt = NumericDate.seconds(now)
        let lifetime = Int64(min(max(lifetimeSeconds, 1), Self.maximumLifetimeSeconds))
        let header: JSONValue = ["alg": "ES384", "typ": "at+jwt", "kid": .string(kid)]
        let payload: JSONValue = [
            "iss": .string(issuer),
            "sub": .string(clientId),
            "client_id": .string(clientId),
            "aud": .string(audience),
            "iat": .integer(issuedAt),
            "nbf": .integer(issuedAt),
            "exp": .integer(issuedAt + lifetime),
            "jti": .string(jti),
            "scope": .string(scope),
            "groups": .array(groups.map(JSONValue.string)),
        ]
        let signingInput = Base64URL.encode(header.serialized()) + "." + Base64URL.encode(payload.serialized())
        let signature: P384.Signing.ECDSASignature
        do {
            signature = try privateKey.signature(for: Array(signingInput.utf8))
        } catch {
            fatalError("ES384 signing failed in BoringSSL: \(error)")
        }
        return signingInput + "." + Base64URL.encode(Array(signature.rawRepresentation))
    }
}

/// Checks a bearer token on every request: signature by one of `keys` under an allowed
/// algorithm (RS384 or ES384 only — never `none`, never HMAC, whatever the key), the key
/// named by `kid` (required when the keys have ids), `typ` (if present: an access token),
/// `exp` (required, and no further ahead than `maxLifetimeSeconds` when set), `iat` and `nbf`
/// (not in the future), `iss` and `aud`, with `leewaySeconds` of clock skew.
public struct AccessTokenVerifier: Sendable {
    public static let allowedAlgorithms: Set<String> = ["RS384", "ES384"]
    /// RFC 9068's media type of a JWT access token, and the generic one many issuers write.
    public static let allowedTypes: Set<String> = ["at+jwt", "application/at+jwt", "jwt"]

    public var keys: [JWK]
    public var issuer: String
    public var audience: String
    public var leewaySeconds: Int
    /// The built-in issuer never issues a longer-lived token, so one that claims to be is
    /// refused; nil for an external issuer, whose lifetimes are its own.
    public var maxLifetimeSeconds: Int?

    public init(keys: [JWK], issuer: String, audience: String, leewaySeconds: Int = 30, maxLifetimeSeconds: Int? = nil) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leewaySeconds = leewaySeconds
        self.maxLifetimeSeconds = maxLifetimeSeconds
    }

    public func verify(_ token: String, now: FHIRInstant) throws(TokenError) -> AccessTokenClaims {
        let jwt = try JWT.decode(token)
        guard let algorithm = jwt.algorithm, Self.allowedAlgorithms.contains(algorithm) else {
            throw TokenError("the token's algorithm '\(jwt.algorithm ?? "")' is not allowed")
        }
        if let type = jwt.header["typ"] {
            guard let text = type.stringValue, Self.allowedTypes.contains(text.lowercased()) else {
                throw TokenError("the token's \"typ\" is not at+jwt")
            }
        }
        let candidates: [JWK]
        if let kid = jwt.keyID {
            candidates = keys.filter { $0.kid == kid }
            guard !candidates.isEmpty else { throw TokenError("the token's key id is not one of the issuer's keys") }
        } else {
            guard keys.allSatisfy({ $0.kid == nil }) else { throw TokenError("the token names no key (\"kid\")") }
            candidates = keys
        }
        guard candidates.contains(where: { $0.verify(jwt) }) else {
            throw TokenError("the token's signature is not valid")
        }

        let nowSeconds = NumericDate.seconds(now)
        let leeway = Int64(max(0, leewaySeconds))
        guard let expires = jwt.numericDate("exp") else { throw TokenError("the token has no numeric \"exp\"") }
        guard expires + leeway > nowSeconds else { throw TokenError("the token has expired") }
        if let maxLifetimeSeconds, expires > nowSeconds + Int64(maxLifetimeSeconds) + leeway {
            throw TokenError("the token's \"exp\" is further ahead than the issuer's token lifetime")
        }
        if jwt.payload["nbf"] != nil {
            guard let notBefore = jwt.numericDate("nbf"), notBefore <= nowSeconds + leeway else {
                throw TokenError("the token is not valid yet (\"nbf\")")
            }
        }
        if jwt.payload["iat"] != nil {
            guard let issuedAt = jwt.numericDate("iat"), issuedAt <= nowSeconds + leeway else {
                throw TokenError("the token claims to be issued in the future (\"iat\")")
            }
        }
        guard jwt.stringClaim("iss") == issuer else { throw TokenError("the token's issuer is not \(issuer)") }
        guard jwt.hasAudience(audience) else { throw TokenError("the token's audience is not \(audience)") }

        guard let clientId = jwt.stringClaim("client_id") ?? jwt.stringClaim("sub"), !clientId.isEmpty else {
            throw TokenError("the token names no client (\"client_id\" or \"sub\")")
        }
        let scope: String
        switch (jwt.payload["scope"], jwt.payload["scp"]) {
        case (.string(let text)?, _): scope = text
        case (nil, .array(let items)?): scope = items.compactMap(\.stringValue).joined(separator: " ")
        case (nil, nil): scope = ""
        default: throw TokenError("the token's \"scope\" is not a string")
        }
        let groups: [String]
        switch jwt.payload["groups"] {
        case nil: groups = []
        case .array(let items)?:
            groups = items.compactMap(\.stringValue)
            guard groups.count == items.count else { throw TokenError("the token's \"groups\" are not strings") }
        default: throw TokenError("the token's \"groups\" is not an array")
        }
        let role: String?
        switch jwt.payload["role"] {
        case nil: role = nil
        case .string(let text)?: role = text
        default: throw TokenError("the token's \"role\" is not a string")
        }
        return AccessTokenClaims(
            clientId: clientId, scope: scope, groups: groups, role: role, expiresAt: NumericDate.instant(expires),
            jti: jwt.stringClaim("jti"))
    }
}
