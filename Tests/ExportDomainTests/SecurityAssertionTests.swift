import Crypto
import XCTest
import _CryptoExtras
@testable import ExportDomain

final class SecurityAssertionTests: XCTestCase {
    typealias F = SecurityFixtures
    private let tokenURL = "https://fhir.example.org/auth/token"

    /// Client "ec-client" registered with one P-384 key (kid "ec-1"); "rsa-client" with an RSA
    /// key given as PEM (no kid); "two-keys" with another P-384 key and the RSA key, no kids.
    private func registry(_ id: String) -> RegisteredClientKeys? {
        switch id {
        case "ec-client": return RegisteredClientKeys(keys: [F.publicJWK(.p384(F.ecKey), kid: "ec-1", alg: "ES384")])
        case "rsa-client": return RegisteredClientKeys(keys: [try! JWK(pem: F.rsaKey.publicKey.pemRepresentation)])
        case "two-keys":
            return RegisteredClientKeys(keys: [F.publicJWK(.p384(F.otherECKey)), F.publicJWK(.rsa(F.rsaKey))])
        case "no-keys": return RegisteredClientKeys(keys: [])
        default: return nil
        }
    }

    private func claims(
        client: String = "ec-client", expiresIn: Int64 = 240, jti: JSONValue? = "jti-1"
    ) -> JSONObject {
        var object: JSONObject = [
            "iss": .string(client), "sub": .string(client), "aud": .string(tokenURL),
            "exp": .integer(F.nowSeconds + expiresIn),
        ]
        object["jti"] = jti
        return object
    }

    private func assertion(
        _ payload: JSONObject? = nil, key: F.SigningKey = .p384(F.ecKey), header: JSONValue? = nil
    ) -> String {
        F.signed(header: header ?? ["alg": .string(F.algorithm(of: key)), "typ": "JWT", "kid": "ec-1"],
                 payload: .object(payload ?? claims()), with: key)
    }

    private func validate(_ assertion: String, clientId: String? = nil) throws(OAuthError) -> ValidatedAssertion {
        try ClientAssertionValidator.validate(
            assertion: assertion, tokenURL: tokenURL, now: F.now, clientId: clientId, client: registry)
    }

    private func assertInvalidClient(
        _ assertion: String, _ fragment: String, clientId: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            _ = try validate(assertion, clientId: clientId)
            XCTFail("accepted (\(fragment))", file: file, line: line)
        } catch {
            XCTAssertEqual(error.error, "invalid_client", file: file, line: line)
            XCTAssertEqual(error.status, 401, file: file, line: line)
            XCTAssertTrue(error.description.contains(fragment), "\(fragment) ← \(error.description)", file: file, line: line)
        }
    }

    // MARK: Success

    func testES384AssertionWithMatchingKid() throws {
        let result = try validate(assertion())
        XCTAssertEqual(result, ValidatedAssertion(
            clientId: "ec-client", jti: "jti-1",
            expiresAt: FHIRInstant(millisecondsSinceEpoch: (F.nowSeconds + 240) * 1000)))
        XCTAssertEqual(try validate(assertion(), clientId: "ec-client").clientId, "ec-client")
    }

    func testRS384AssertionWithThumbprintKidLikeSmartFetchWithAPEMKey() throws {
        let kid = F.publicJWK(.rsa(F.rsaKey)).thumbprint
        let token = assertion(claims(client: "rsa-client"), key: .rsa(F.rsaKey), header: ["alg": "RS384", "kid": .string(kid)])
        XCTAssertEqual(try validate(token).clientId, "rsa-client")
    }

    func testWithoutKidEveryKeyIsTried() throws {
        let rsa = assertion(claims(client: "two-keys"), key: .rsa(F.rsaKey), header: ["alg": "RS384"])
        XCTAssertEqual(try validate(rsa).clientId, "two-keys")
        let ec = assertion(claims(client: "two-keys"), key: .p384(F.otherECKey), header: ["alg": "ES384"])
        XCTAssertEqual(try validate(ec).clientId, "two-keys")
    }

    func testAudienceArrayAndBoundaries() throws {
        var payload = claims()
        payload["aud"] = ["https://other.example", .string(tokenURL)]
        XCTAssertNoThrow(try validate(assertion(payload)))
        XCTAssertNoThrow(try validate(assertion(claims(expiresIn: 300))), "exactly five minutes")
        XCTAssertNoThrow(try validate(assertion(claims(expiresIn: 320))), "within the clock-skew leeway")
        XCTAssertNoThrow(try validate(assertion(claims(expiresIn: -10))), "within the clock-skew leeway")
        payload = claims()
        payload["exp"] = .number("\(F.nowSeconds + 60).5")
        XCTAssertEqual(try validate(assertion(payload)).expiresAt.millisecondsSinceEpoch, (F.nowSeconds + 60) * 1000)
        payload = claims()
        payload["nbf"] = .integer(F.nowSeconds - 5)
        payload["iat"] = .integer(F.nowSeconds - 5)
        XCTAssertNoThrow(try validate(assertion(payload)))
    }

    // MARK: Failures (all invalid_client, 401)

    func testStructureAndAlgorithmFailures() {
        assertInvalidClient("not-a-jwt", "not a JWT")
        assertInvalidClient("a.b", "not a JWT")
        assertInvalidClient(F.token(header: ["alg": "none"], payload: .object(claims())) { _ in [] }, "'none' is not allowed")
        let pem = Array(F.ecKey.publicKey.pemRepresentation.utf8)
        let hs = F.token(header: ["alg": "HS256"], payload: .object(claims())) { input in
            Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: pem)))
        }
        assertInvalidClient(hs, "'HS256' is not allowed")
        assertInvalidClient(assertion(header: ["alg": "RS256", "kid": "ec-1"]), "'RS256' is not allowed")
        assertInvalidClient(assertion(header: ["alg": "ES256", "kid": "ec-1"]), "'ES256' is not allowed")
    }

    func testIssuerSubjectAndClientFailures() {
        var payload = claims()
        payload["iss"] = nil
        assertInvalidClient(assertion(payload), "no \"iss\"")
        payload = claims()
        payload["sub"] = "someone-else"
        assertInvalidClient(assertion(payload), "\"sub\" must equal")
        payload = claims()
        payload["sub"] = nil
        assertInvalidClient(assertion(payload), "\"sub\" must equal")
        assertInvalidClient(assertion(claims(client: "stranger")), "unknown client 'stranger'")
        assertInvalidClient(assertion(claims(client: "no-keys")), "has no registered key")
        assertInvalidClient(assertion(), "client_id does not match", clientId: "rsa-client")
    }

    func testKeyAndSignatureFailures() {
        // Signed by a key that is not registered, under the registered kid.
        assertInvalidClient(assertion(key: .p384(F.otherECKey)), "signature does not verify")
        // A kid that matches neither a kid nor a thumbprint.
        assertInvalidClient(assertion(header: ["alg": "ES384", "kid": "unknown"]), "no key registered for client 'ec-client' has kid 'unknown'")
        // A tampered payload.
        let parts = assertion().split(separator: ".").map(String.init)
        var payload = claims()
        payload["jti"] = "jti-2"
        assertInvalidClient(parts[0] + "." + Base64URL.encode(JSONValue.object(payload).serialized()) + "." + parts[2],
                            "signature does not verify")
        // RS384 assertion for an EC-only client.
        assertInvalidClient(assertion(key: .rsa(F.rsaKey), header: ["alg": "RS384"]), "signature does not verify")
    }

    func testAudienceFailures() {
        var payload = claims()
        payload["aud"] = "https://fhir.example.org/auth/token/"
        assertInvalidClient(assertion(payload), "\"aud\" must be the token URL")
        payload["aud"] = ["https://fhir.example.org"]
        assertInvalidClient(assertion(payload), "\"aud\"")
        payload["aud"] = nil
        assertInvalidClient(assertion(payload), "\"aud\"")
    }

    func testExpiryFailures() {
        var payload = claims()
        payload["exp"] = nil
        assertInvalidClient(assertion(payload), "no numeric \"exp\"")
        payload["exp"] = .string(String(F.nowSeconds + 60))
        assertInvalidClient(assertion(payload), "no numeric \"exp\"")
        assertInvalidClient(assertion(claims(expiresIn: -60)), "expired")
        assertInvalidClient(assertion(claims(expiresIn: 600)), "more than 300 seconds")
        assertInvalidClient(assertion(claims(expiresIn: 86_400 * 365)), "more than 300 seconds")
        payload = claims()
        payload["nbf"] = .integer(F.nowSeconds + 120)
        assertInvalidClient(assertion(payload), "not valid yet")
        payload["exp"] = .number("1e400")
        assertInvalidClient(assertion(payload), "no numeric \"exp\"")
    }

    func testJTIFailures() {
        assertInvalidClient(assertion(claims(jti: nil)), "no \"jti\"")
        assertInvalidClient(assertion(claims(jti: "")), "no \"jti\"")
        assertInvalidClient(assertion(claims(jti: 42)), "no \"jti\"")
        assertInvalidClient(assertion(claims(jti: .string(String(repeating: "j", count: 256)))), "longer than 255")
    }
}
