import Crypto
import XCTest
import _CryptoExtras
@testable import ExportDomain

/// Keys and hand-built JWS tokens shared by the Security*Tests.
enum SecurityFixtures {
    enum SigningKey {
        case p384(P384.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey)
    }

    static let ecKey = P384.Signing.PrivateKey()
    static let otherECKey = P384.Signing.PrivateKey()
    // swiftlint:disable:next force_try
    static let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    /// 2026-11-26T12:00:00Z.
    static let now = FHIRInstant.parseInstant("2026-11-26T12:00:00Z")!
    static var nowSeconds: Int64 { now.millisecondsSinceEpoch / 1000 }

    /// The public JWK JSON of a key, as a client would register it.
    static func publicJWKJSON(_ key: SigningKey, kid: String? = nil, alg: String? = nil) -> JSONValue {
        var object = JSONObject()
        switch key {
        case .p384(let privateKey):
            let raw = Array(privateKey.publicKey.rawRepresentation)
            object["kty"] = "EC"
            object["crv"] = "P-384"
            object["x"] = .string(Base64URL.encode(Array(raw[..<48])))
            object["y"] = .string(Base64URL.encode(Array(raw[48...])))
        case .rsa(let privateKey):
            let primitives = try! privateKey.publicKey.getKeyPrimitives()
            object["kty"] = "RSA"
            object["n"] = .string(Base64URL.encode(Array(primitives.modulus)))
            object["e"] = .string(Base64URL.encode(Array(primitives.publicExponent)))
        }
        if let kid { object["kid"] = .string(kid) }
        if let alg { object["alg"] = .string(alg) }
        return .object(object)
    }

    static func publicJWK(_ key: SigningKey, kid: String? = nil, alg: String? = nil) -> JWK {
        try! JWK(json: publicJWKJSON(key, kid: kid, alg: alg))
    }

    /// `base64url(header).base64url(payload)` + the signature made by `signature`.
    static func token(header: JSONValue, payload: JSONValue, signature: ([UInt8]) -> [UInt8]) -> String {
        let input = Base64URL.encode(header.serialized()) + "." + Base64URL.encode(payload.serialized())
        return input + "." + Base64URL.encode(signature(Array(input.utf8)))
    }

    /// A JWS signed with `key`: ES384 (raw r||s) or RS384 (PKCS#1 v1.5, SHA-384).
    static func signed(header: JSONValue, payload: JSONValue, with key: SigningKey) -> String {
        token(header: header, payload: payload) { input in
            switch key {
            case .p384(let privateKey):
                return Array(try! privateKey.signature(for: input).rawRepresentation)
            case .rsa(let privateKey):
                return Array(try! privateKey.signature(for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
                    .rawRepresentation)
            }
        }
    }

    static func algorithm(of key: SigningKey) -> String {
        if case .rsa = key { return "RS384" }
        return "ES384"
    }
}

final class SecurityJWTTests: XCTestCase {
    typealias F = SecurityFixtures

    // MARK: Base64URL

    func testBase64URLRoundTripsEveryLength() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 251) }
            XCTAssertEqual(Base64URL.decode(Base64URL.encode(bytes)), bytes, "length \(length)")
        }
        XCTAssertEqual(Base64URL.decode("-_8"), [0xFB, 0xFF])
    }

    func testBase64URLRejectsNonCanonicalText() {
        for text in ["QQ==", "QQ=", "A", "QUJD!", "QU JD", "QUJD+", "QUJD/", "QR", "QUJ"] {
            XCTAssertNil(Base64URL.decode(text), text)
        }
        XCTAssertEqual(Base64URL.decode("QQ"), [0x41])
        XCTAssertEqual(Base64URL.decode("QUI"), [0x41, 0x42])
    }

    // MARK: JWT.decode

    func testDecodeKeepsHeaderPayloadSigningInputAndSignature() throws {
        let token = F.signed(header: ["alg": "ES384", "kid": "k1"], payload: ["iss": "me"], with: .p384(F.ecKey))
        let jwt = try JWT.decode(token)
        XCTAssertEqual(jwt.algorithm, "ES384")
        XCTAssertEqual(jwt.keyID, "k1")
        XCTAssertEqual(jwt.payload["iss"], "me")
        XCTAssertEqual(jwt.signature.count, 96)
        let lastDot = token.lastIndex(of: ".")!
        XCTAssertEqual(jwt.signingInput, Array(token[..<lastDot].utf8))
    }

    func testDecodeFailures() {
        let header = Base64URL.encode(Array(#"{"alg":"ES384"}"#.utf8))
        let payload = Base64URL.encode(Array(#"{"iss":"me"}"#.utf8))
        func b64(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }
        let cases: [(String, String)] = [
            ("", "empty"),
            ("\(header).\(payload)", "three"),
            ("\(header).\(payload).AA.AA", "three"),
            ("\(header)=.\(payload).", "header is not base64url"),
            ("\(header).\(payload)*.", "payload is not base64url"),
            ("\(header).\(payload).A", "signature is not base64url"),
            ("\(b64("{alg")).\(payload).", "header is not valid JSON"),
            ("\(b64("[1]")).\(payload).", "header is not a JSON object"),
            ("\(header).\(b64("\"x\"")).", "payload is not a JSON object"),
            ("\(b64(#"{"typ":"JWT"}"#)).\(payload).", "no \"alg\""),
            ("\(b64(#"{"alg":1}"#)).\(payload).", "no \"alg\""),
            ("\(b64(#"{"alg":"ES384","alg":"none"}"#)).\(payload).", "not valid JSON"),
            ("\(b64(#"{"alg":"ES384","crit":["exp"]}"#)).\(payload).", "crit"),
            (String(repeating: "A", count: JWT.maximumLength + 1), "longer"),
        ]
        for (token, expected) in cases {
            XCTAssertThrowsError(try JWT.decode(token), expected) { error in
                let message = (error as? TokenError)?.message ?? ""
                XCTAssertTrue(message.contains(expected), "\(expected) ← \(message)")
            }
        }
    }

    func testDecodeAcceptsAnEmptySignature() throws {
        // `alg: none` decodes; it is verification that refuses it.
        let jwt = try JWT.decode(F.token(header: ["alg": "none"], payload: ["iss": "me"]) { _ in [] })
        XCTAssertEqual(jwt.algorithm, "none")
        XCTAssertEqual(jwt.signature, [])
    }

    // MARK: OAuthError

    func testOAuthErrorStatusAndJSON() {
        XCTAssertEqual(OAuthError.invalidClient("x").status, 401)
        for error in [OAuthError.invalidRequest("x"), .invalidGrant("x"), .unsupportedGrantType("x"), .invalidScope("x")] {
            XCTAssertEqual(error.status, 400)
        }
        XCTAssertEqual(
            OAuthError.invalidScope("'system/Bogus.read' is not a valid scope").json().serializedString,
            #"{"error":"invalid_scope","error_description":"'system/Bogus.read' is not a valid scope"}"#)
        XCTAssertEqual(OAuthError.unsupportedGrantType("x").json()["error"], "unsupported_grant_type")
        XCTAssertEqual(OAuthError.invalidGrant("x").code, .invalidGrant)
        let custom = OAuthError(status: 405, error: "invalid_request", description: "the token endpoint takes POST")
        XCTAssertEqual(custom.status, 405)
        XCTAssertEqual(custom.code, .invalidRequest)
        XCTAssertNil(OAuthError(status: 400, error: "other", description: "").code)
    }
}
