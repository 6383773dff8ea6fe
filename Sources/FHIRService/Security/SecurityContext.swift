import ExportDomain
import Foundation
import Logging
import Runtime
import Storage

/// Process-wide security state shared by all worker threads: the keys tokens are checked
/// against, the built-in issuer's signer, and caches (verified tokens until their `exp`,
/// fetched JWKS per their Cache-Control).
public final class SecurityContext: @unchecked Sendable {
    let settings: SmartSettings
    public let signer: AccessTokenSigner?
    let jwksFetcher: JWKSFetcher
    private let lock = NSLock()
    private var verifiedTokens: [String: AuthenticatedClient] = [:]

    /// Reads the signing key (built-in issuer); fails at start when it is missing or unusable.
    public init(settings: SmartSettings, logger: Logger) throws {
        self.settings = settings
        jwksFetcher = JWKSFetcher(timeoutMilliseconds: settings.jwksFetchTimeoutMilliseconds, logger: logger)
        if settings.enabled && settings.builtInAuthorizationServer {
            signer = try ServerSecrets.tokenSigner(settings)
        } else {
            signer = nil
        }
    }

    /// The keys access tokens must be signed with: our own, or the external issuer's JWKS.
    func tokenKeys() throws -> [JWK] {
        if let signer {
            return try JWKSet(json: .object(JSONObject([("keys", .array([signer.publicJWK]))]))).keys
        }
        return try jwksFetcher.keys(url: settings.jwksURL)
    }

    /// The token keys, or 503: the external issuer's key set is unreachable or unusable, an
    /// outage rather than the client's fault.
    private func keysOrUnavailable() throws -> [JWK] {
        do {
            return try tokenKeys()
        } catch {
            throw FHIRError(status: 503, code: .transient, "Access tokens cannot be checked right now: \(error)",
                            headers: [HTTPHeader("Retry-After", "30")])
        }
    }

    /// Verifies a bearer token, or throws 401. Verified tokens are cached until they expire.
    func authenticate(authorization: String?, now: FHIRInstant) throws -> AuthenticatedClient? {
        guard settings.enabled else { return nil }
        guard let authorization, let token = Self.bearerToken(authorization) else {
            throw Self.unauthorized("A bearer token is required (Authorization: Bearer …)", invalidToken: false)
        }
        if let cached = lock.withLock({ verifiedTokens[token] }), cached.expiresAt > now {
            return cached
        }
        let keys = try keysOrUnavailable()
        let claims: AccessTokenClaims
        do {
            // 300 s: the longest lifetime the built-in issuer has ever been configurable to.
            let verifier = AccessTokenVerifier(keys: keys, issuer: settings.issuer, audience: settings.audience,
                                               maxLifetimeSeconds: settings.builtInAuthorizationServer ? 300 : nil)
            claims = try verifier.verify(token, now: now)
        } catch {
            // `verify` throws only TokenError.
            throw Self.unauthorized("The access token is not valid: \(error)", invalidToken: true)
        }
        // An external issuer's role this build does not know gets the narrower access.
        let role = claims.role.map { ClientRole(rawValue: $0) ?? .provider }
        let client = AuthenticatedClient(clientId: claims.clientId, scopes: ScopeSet(granted: claims.scope),
                                         groups: claims.groups, role: role, expiresAt: claims.expiresAt)
        lock.withLock {
            if verifiedTokens.count > 10_000 { verifiedTokens = verifiedTokens.filter { $0.value.expiresAt > now } }
            verifiedTokens[token] = client
        }
        return client
    }

    /// The token of an `Authorization: Bearer …` header (scheme case-insensitive, RFC 7235).
    /// Works on the UTF-8 bytes: this runs on every request, and Foundation's trimming showed in
    /// `make bench` profiles.
    static func bearerToken(_ authorization: String) -> String? {
        let bytes = authorization.utf8
        let scheme = Array("bearer".utf8)
        let asciiLowercased: (UInt8) -> UInt8 = { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        guard bytes.count > scheme.count + 1,
              bytes.prefix(scheme.count).map(asciiLowercased) == scheme,
              bytes.dropFirst(scheme.count).first == 0x20 else { return nil }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        var token = bytes.dropFirst(scheme.count)
        while let first = token.first, isSpace(first) { token = token.dropFirst() }
        while let last = token.last, isSpace(last) { token = token.dropLast() }
        return token.isEmpty ? nil : String(token)
    }

    static func unauthorized(_ message: String, invalidToken: Bool) -> FHIRError {
        let challenge = invalidToken ? #"Bearer realm="ATR Export", error="invalid_token""# : #"Bearer realm="ATR Export""#
        return FHIRError(status: 401, code: .login, message, headers: [HTTPHeader("WWW-Authenticate", challenge)])
    }
}
