import Crypto
import XCTest
import _CryptoExtras
@testable import ExportDomain

final class SecurityAccessTokenTests: XCTestCase {
    typealias F = SecurityFixtures
    private let issuer = "https://fhir.example.org/auth"
    private let audience = "https://fhir.example.org/r4"
    private static let pem = AccessTokenSigner.generatePrivateKeyPEM()
    /// The signer's own key, for tokens it would never issue.
    private static let signingKey = try! P384.Signing.PrivateKey(pemRepresentation: pem)

    private func signer(kid: String? = "server-1") throws -> AccessTokenSigner {
        try AccessTokenSigner(privateKeyPEM: Self.pem, kid: kid)
    }

    private func verifier(keys: [JWK]? = nil, leeway: Int = 30) throws -> AccessTokenVerifier {
        AccessTokenVerifier(keys: try keys ?? [signer().publicKey], issuer: issuer, audience: audience, leewaySeconds: leeway)
    }

    private func issue(lifetime: Int = 300, now: FHIRInstant = F.now, issuer: String? = nil, audience: String? = nil) throws -> String {
        try signer().issue(
            clientId: "client-a", scope: "system/Patient.read system/Group.rs", groups: ["atr-1", "atr-2"],
            issuer: issuer ?? self.issuer, audience: audience ?? self.audience, now: now,
            lifetimeSeconds: lifetime, jti: "token-1")
    }

    private func assertRejected(
        _ token: String, _ fragment: String, now: FHIRInstant = F.now, verifier: AccessTokenVerifier? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let verifier = try verifier ?? self.verifier()
        do {
            let claims = try verifier.verify(token, now: now)
            XCTFail("accepted: \(claims)", file: file, line: line)
        } catch {
            XCTAssertTrue(error.message.contains(fragment), "\(fragment) ← \(error.message)", file: file, line: line)
        }
    }

    // MARK: Signer

    func testPEMAndPublicJWK() throws {
        XCTAssertTrue(Self.pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        XCTAssertNotEqual(AccessTokenSigner.generatePrivateKeyPEM(), Self.pem)
        let jwk = try signer().publicJWK
        XCTAssertEqual(jwk["kty"], "EC")
        XCTAssertEqual(jwk["crv"], "P-384")
        XCTAssertEqual(jwk["kid"], "server-1")
        XCTAssertEqual(jwk["alg"], "ES384")
        XCTAssertEqual(jwk["use"], "sig")
        XCTAssertNil(jwk["d"])
        XCTAssertEqual(try JWK(json: jwk).thumbprint, try signer().publicKey.thumbprint)
        // Without a kid, the thumbprint is the kid.
        let anonymous = try signer(kid: nil)
        XCTAssertEqual(anonymous.kid, anonymous.publicKey.thumbprint)
        XCTAssertThrowsError(try AccessTokenSigner(privateKeyPEM: "junk", kid: "x"))
        XCTAssertThrowsError(try AccessTokenSigner(privateKeyPEM: P256.Signing.PrivateKey().pemRepresentation, kid: "x"))
    }

    func testIssuedClaims() throws {
        let jwt = try JWT.decode(try issue(lifetime: 120))
        XCTAssertEqual(jwt.header["alg"], "ES384")
        XCTAssertEqual(jwt.header["typ"], "at+jwt")
        XCTAssertEqual(jwt.header["kid"], "server-1")
        let p = jwt.payload
        XCTAssertEqual(p["iss"], .string(issuer))
        XCTAssertEqual(p["sub"], "client-a")
        XCTAssertEqual(p["client_id"], "client-a")
        XCTAssertEqual(p["aud"], .string(audience))
        XCTAssertEqual(p["iat"], .integer(F.nowSeconds))
        XCTAssertEqual(p["nbf"], .integer(F.nowSeconds))
        XCTAssertEqual(p["exp"], .integer(F.nowSeconds + 120))
        XCTAssertEqual(p["jti"], "token-1")
        XCTAssertEqual(p["scope"], "system/Patient.read system/Group.rs")
        XCTAssertEqual(p["groups"], ["atr-1", "atr-2"])
        // The lifetime never exceeds five minutes.
        XCTAssertEqual(try JWT.decode(try issue(lifetime: 3600)).payload["exp"], .integer(F.nowSeconds + 300))
    }

    // MARK: Round trip

    func testIssueThenVerify() throws {
        let claims = try verifier().verify(try issue(), now: F.now)
        XCTAssertEqual(claims, AccessTokenClaims(
            clientId: "client-a", scope: "system/Patient.read system/Group.rs", groups: ["atr-1", "atr-2"],
            expiresAt: FHIRInstant(millisecondsSinceEpoch: (F.nowSeconds + 300) * 1000), jti: "token-1"))
        XCTAssertTrue(claims.scopes.canRead("Group"))
        XCTAssertFalse(claims.scopes.canRead("Consent"))
        XCTAssertTrue(claims.mayAccessGroup("atr-2"))
        XCTAssertFalse(claims.mayAccessGroup("atr-3"))
        XCTAssertTrue(AccessTokenClaims(clientId: "c", scope: "", groups: ["*"], expiresAt: F.now, jti: nil)
            .mayAccessGroup("anything"))
        // Still good just before expiry, and within the leeway after it.
        let later = FHIRInstant(millisecondsSinceEpoch: (F.nowSeconds + 320) * 1000)
        XCTAssertNoThrow(try verifier().verify(try issue(), now: later))
    }

    func testKeySelection() throws {
        let other = F.publicJWK(.p384(F.otherECKey), kid: "server-1")
        let mine = try signer().publicKey
        // kid matches the wrong key only: the right key is not tried.
        try assertRejected(try issue(), "signature", verifier: try verifier(keys: [other]))
        XCTAssertNoThrow(try verifier(keys: [other, mine]).verify(try issue(), now: F.now))
        // A kid no key has is refused, even when another key would verify the signature.
        let renamed = try mine.with(kid: "rotated")
        try assertRejected(try issue(), "key id", verifier: try verifier(keys: [F.publicJWK(.rsa(F.rsaKey)), renamed]))
        try assertRejected(try issue(), "key id", verifier: try verifier(keys: []))
        // No kid: refused when the keys have ids, tried against every key when they have none.
        let payload = try JWT.decode(try issue()).payload
        let anonymous = F.signed(header: ["alg": "ES384"], payload: .object(payload), with: .p384(Self.signingKey))
        try assertRejected(anonymous, "names no key", verifier: try verifier(keys: [mine]))
        XCTAssertNoThrow(try verifier(keys: [try mine.with(kid: nil)]).verify(anonymous, now: F.now))
    }

    func testRefusesOtherTypesFutureIssueAndLifetimesTheIssuerNeverGives() throws {
        let payload = try JWT.decode(try issue()).payload
        func token(header: JSONValue = ["alg": "ES384", "kid": "server-1", "typ": "at+jwt"], _ change: (inout JSONObject) -> Void = { _ in }) -> String {
            var claims = payload
            change(&claims)
            return F.signed(header: header, payload: .object(claims), with: .p384(Self.signingKey))
        }
        XCTAssertNoThrow(try verifier().verify(token(), now: F.now))
        XCTAssertNoThrow(try verifier().verify(token(header: ["alg": "ES384", "kid": "server-1", "typ": "JWT"]), now: F.now))
        try assertRejected(token(header: ["alg": "ES384", "kid": "server-1", "typ": "at+jwt-not"]), "\"typ\"")
        try assertRejected(token(header: ["alg": "ES384", "kid": "server-1", "typ": 1]), "\"typ\"")
        try assertRejected(token { $0["iat"] = .integer(F.nowSeconds + 3600) }, "issued in the future")
        try assertRejected(token { $0["iat"] = "yesterday" }, "issued in the future")
        let capped = AccessTokenVerifier(keys: [try signer().publicKey], issuer: issuer, audience: audience, maxLifetimeSeconds: 300)
        XCTAssertNoThrow(try capped.verify(token(), now: F.now))
        try assertRejected(token { $0["exp"] = .integer(F.nowSeconds + 86_400) }, "further ahead", verifier: capped)
        XCTAssertNoThrow(try verifier().verify(token { $0["exp"] = .integer(F.nowSeconds + 86_400) }, now: F.now),
                         "an external issuer's lifetimes are its own")
    }

    func testExternalRS384Token() throws {
        let payload: JSONValue = [
            "iss": .string(issuer), "aud": ["other", .string(audience)], "sub": "ext-client",
            "exp": .integer(F.nowSeconds + 60), "scp": ["system/Patient.read", "system/Group.read"],
        ]
        let token = F.signed(header: ["alg": "RS384", "kid": "ext"], payload: payload, with: .rsa(F.rsaKey))
        let claims = try verifier(keys: [F.publicJWK(.rsa(F.rsaKey), kid: "ext")]).verify(token, now: F.now)
        XCTAssertEqual(claims.clientId, "ext-client")
        XCTAssertEqual(claims.scope, "system/Patient.read system/Group.read")
        XCTAssertEqual(claims.groups, [])
        XCTAssertNil(claims.jti)
    }

    // MARK: Refusals

    func testRefusesBadTimesIssuersAndAudiences() throws {
        let expiredAt = FHIRInstant(millisecondsSinceEpoch: (F.nowSeconds + 331) * 1000)
        try assertRejected(try issue(), "expired", now: expiredAt)
        try assertRejected(try issue(), "expired", now: expiredAt, verifier: try verifier(leeway: 0))
        XCTAssertThrowsError(try verifier(leeway: 0).verify(try issue(), now: FHIRInstant(millisecondsSinceEpoch: (F.nowSeconds + 300) * 1000)))
        let future = try issue(now: FHIRInstant(millisecondsSinceEpoch: (F.nowSeconds + 120) * 1000))
        try assertRejected(future, "not valid yet")
        try assertRejected(try issue(issuer: "https://evil.example"), "issuer")
        try assertRejected(try issue(audience: "https://fhir.example.org/other"), "audience")
    }

    func testRefusesNoneHMACAndForgedTokens() throws {
        let payload = try JWT.decode(try issue()).payload
        // alg none, with and without a signature.
        try assertRejected(F.token(header: ["alg": "none"], payload: .object(payload)) { _ in [] }, "'none' is not allowed")
        try assertRejected(F.token(header: ["alg": "none"], payload: .object(payload)) { _ in [1, 2, 3] }, "'none'")
        // HS256/HS384 keyed with our public key, in PEM and in JWK form.
        let publicForms = [Array(try signer().publicKey.json.serialized()),
                           Array(F.ecKey.publicKey.pemRepresentation.utf8)]
        for secret in publicForms {
            let hs256 = F.token(header: ["alg": "HS256", "kid": "server-1"], payload: .object(payload)) { input in
                Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: secret)))
            }
            try assertRejected(hs256, "'HS256' is not allowed")
            let hs384 = F.token(header: ["alg": "HS384"], payload: .object(payload)) { input in
                Array(HMAC<SHA384>.authenticationCode(for: input, using: SymmetricKey(data: secret)))
            }
            try assertRejected(hs384, "'HS384' is not allowed")
        }
        // Missing alg, RS256, a token signed by another key, a tampered one, garbage.
        try assertRejected(F.token(header: ["typ": "JWT"], payload: .object(payload)) { _ in [] }, "no \"alg\"")
        try assertRejected(F.signed(header: ["alg": "RS256"], payload: .object(payload), with: .rsa(F.rsaKey)), "'RS256'")
        try assertRejected(F.signed(header: ["alg": "ES384", "kid": "server-1"], payload: .object(payload),
                                    with: .p384(F.otherECKey)), "signature")
        var raised = payload
        raised["scope"] = "system/*.*"
        let parts = try issue().split(separator: ".").map(String.init)
        try assertRejected(parts[0] + "." + Base64URL.encode(JSONValue.object(raised).serialized()) + "." + parts[2],
                           "signature")
        try assertRejected("garbage", "three")
        try assertRejected("", "empty")
    }

    func testRefusesMissingOrMalformedClaims() throws {
        func signed(_ change: (inout JSONObject) -> Void) throws -> String {
            var payload = try JWT.decode(try issue()).payload
            change(&payload)
            return F.signed(header: ["alg": "ES384", "kid": "server-1"], payload: .object(payload), with: .p384(F.ecKey))
        }
        let verifier = try self.verifier(keys: [F.publicJWK(.p384(F.ecKey), kid: "server-1")])
        XCTAssertNoThrow(try verifier.verify(try signed { _ in }, now: F.now))
        try assertRejected(try signed { $0["exp"] = nil }, "no numeric \"exp\"", verifier: verifier)
        try assertRejected(try signed { $0["exp"] = "soon" }, "no numeric \"exp\"", verifier: verifier)
        try assertRejected(try signed { $0["nbf"] = "now" }, "not valid yet", verifier: verifier)
        try assertRejected(try signed { $0["iss"] = nil }, "issuer", verifier: verifier)
        try assertRejected(try signed { $0["aud"] = nil }, "audience", verifier: verifier)
        try assertRejected(try signed { $0["client_id"] = nil; $0["sub"] = nil }, "names no client", verifier: verifier)
        try assertRejected(try signed { $0["scope"] = ["system/*.*"] }, "\"scope\" is not a string", verifier: verifier)
        try assertRejected(try signed { $0["groups"] = "atr-1" }, "\"groups\" is not an array", verifier: verifier)
        try assertRejected(try signed { $0["groups"] = ["atr-1", 2] }, "\"groups\" are not strings", verifier: verifier)
        XCTAssertEqual(try verifier.verify(try signed { $0["client_id"] = nil }, now: F.now).clientId, "client-a")
        XCTAssertEqual(try verifier.verify(try signed { $0["scope"] = nil }, now: F.now).scope, "")
    }
}
