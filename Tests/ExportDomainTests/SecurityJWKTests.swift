import Crypto
import XCTest
import _CryptoExtras
@testable import ExportDomain

final class SecurityJWKTests: XCTestCase {
    typealias F = SecurityFixtures

    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    // MARK: Thumbprints

    func testRFC7638ExampleThumbprint() throws {
        // RFC 7638 §3.1 (its "alg":"RS256" left out: this project only accepts RS384 for RSA).
        let key = try JWK(json: parse("""
            {"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","kid":"2011-04-29"}
            """))
        XCTAssertEqual(key.thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        XCTAssertEqual(key.kid, "2011-04-29")
        XCTAssertEqual(key.keyType, .rsa)
    }

    func testECThumbprintIsSHA256OfTheCanonicalMembers() throws {
        let json = F.publicJWKJSON(.p384(F.ecKey), kid: "k1", alg: "ES384")
        let key = try JWK(json: json)
        let canonical = #"{"crv":"P-384","kty":"EC","x":"\#(json["x"]!.stringValue!)","y":"\#(json["y"]!.stringValue!)"}"#
        XCTAssertEqual(key.thumbprint, Base64URL.encode(Array(SHA256.hash(data: Array(canonical.utf8)))))
        // kid, alg and use are not part of the thumbprint.
        XCTAssertEqual(F.publicJWK(.p384(F.ecKey)).thumbprint, key.thumbprint)
        XCTAssertNotEqual(F.publicJWK(.p384(F.otherECKey)).thumbprint, key.thumbprint)
    }

    func testPEMKeysMatchTheirJWKs() throws {
        let ec = try JWK(pem: F.ecKey.publicKey.pemRepresentation)
        XCTAssertEqual(ec.keyType, .ecP384)
        XCTAssertEqual(ec.thumbprint, F.publicJWK(.p384(F.ecKey)).thumbprint)
        XCTAssertNil(ec.kid)
        let rsa = try JWK(pem: F.rsaKey.publicKey.pemRepresentation, kid: "r1")
        XCTAssertEqual(rsa.keyType, .rsa)
        XCTAssertEqual(rsa.kid, "r1")
        XCTAssertEqual(rsa.thumbprint, F.publicJWK(.rsa(F.rsaKey)).thumbprint)
        XCTAssertEqual(rsa.json["e"], "AQAB")
    }

    func testPEMFailures() {
        XCTAssertThrowsError(try JWK(pem: F.ecKey.pemRepresentation)) { error in
            XCTAssertTrue((error as? TokenError)?.message.contains("private key") == true)
        }
        XCTAssertThrowsError(try JWK(pem: P256.Signing.PrivateKey().publicKey.pemRepresentation))
        XCTAssertThrowsError(try JWK(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
        XCTAssertThrowsError(try JWK(pem: "not a pem"))
    }

    // MARK: Parsing

    func testJSONRoundTripKeepsPublicMembersOnly() throws {
        let json = try parse(#"{"kty":"EC","crv":"P-384","x":"\#(F.publicJWKJSON(.p384(F.ecKey))["x"]!.stringValue!)","y":"\#(F.publicJWKJSON(.p384(F.ecKey))["y"]!.stringValue!)","d":"AAAA","kid":"k","alg":"ES384","use":"sig","key_ops":["sign"]}"#)
        let key = try JWK(json: json)
        XCTAssertTrue(key.containsPrivateKey)
        XCTAssertNil(key.json["d"])
        XCTAssertEqual(key.json["kid"], "k")
        XCTAssertEqual(key.json["use"], "sig")
        XCTAssertEqual(try JWK(json: key.json).thumbprint, key.thumbprint)
        XCTAssertFalse(F.publicJWK(.p384(F.ecKey)).containsPrivateKey)
    }

    func testUnsupportedOrMalformedKeys() throws {
        let ec = F.publicJWKJSON(.p384(F.ecKey))
        let x = ec["x"]!.stringValue!, y = ec["y"]!.stringValue!
        let p256 = Array(P256.Signing.PrivateKey().publicKey.rawRepresentation)
        let small = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024)).publicKey.getKeyPrimitives()
        let cases: [(String, String)] = [
            (#"{"kty":"EC","crv":"P-256","x":"\#(Base64URL.encode(Array(p256[..<32])))","y":"\#(Base64URL.encode(Array(p256[32...])))"}"#, "P-256"),
            (#"{"kty":"oct","k":"c2VjcmV0"}"#, "'oct'"),
            (#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#, "'OKP'"),
            (#"{"crv":"P-384","x":"\#(x)","y":"\#(y)"}"#, "no \"kty\""),
            (#"{"kty":"EC","crv":"P-384","x":"\#(x)"}"#, "no \"y\""),
            (#"{"kty":"EC","crv":"P-384","x":"\#(x)","y":"\#(x)"}"#, "not a point"),
            (#"{"kty":"EC","crv":"P-384","x":"AAAA","y":"AAAA"}"#, "48-byte"),
            (#"{"kty":"EC","crv":"P-384","x":"\#(x)","y":"\#(y)","alg":"ES256"}"#, "'ES256'"),
            (#"{"kty":"EC","crv":"P-384","x":"\#(x)","y":"\#(y)","alg":"RS384"}"#, "'RS384'"),
            (#"{"kty":"EC","crv":"P-384","x":"\#(x)","y":"\#(y)","use":"enc"}"#, "'enc'"),
            (#"{"kty":"EC","crv":"P-384","x":"\#(x)","y":"\#(y)","key_ops":["encrypt"]}"#, "key_ops"),
            (#"{"kty":"EC","crv":"P-384","x":"\#(x)","y":"\#(y)","kid":7}"#, "\"kid\" is not a string"),
            (#"{"kty":"RSA","n":"\#(Base64URL.encode(Array(small.modulus)))","e":"AQAB"}"#, "2048"),
            (#"{"kty":"RSA","n":"!!","e":"AQAB"}"#, "not base64url"),
            (#"["kty"]"#, "JSON object"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try JWK(json: parse(text)), expected) { error in
                let message = (error as? TokenError)?.message ?? ""
                XCTAssertTrue(message.contains(expected), "\(expected) ← \(message)")
            }
        }
    }

    func testJWKSetSkipsUnusableKeys() throws {
        let ec = F.publicJWKJSON(.p384(F.ecKey), kid: "ec")
        let rsa = F.publicJWKJSON(.rsa(F.rsaKey), kid: "rsa", alg: "RS384")
        let set = try JWKSet(json: [
            "keys": [ec, ["kty": "oct", "k": "c2VjcmV0", "kid": "hmac"], rsa, ["kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"]],
        ])
        XCTAssertEqual(set.keys.map(\.kid), ["ec", "rsa"])
        XCTAssertEqual(set.skipped.count, 2)
        XCTAssertTrue(set.skipped[0].hasPrefix("key 'hmac':"), set.skipped[0])
        XCTAssertTrue(set.skipped[1].hasPrefix("key #4:"), set.skipped[1])
        XCTAssertEqual(set.json["keys"]?.arrayValue?.count, 2)

        XCTAssertEqual(try JWKSet(json: ec).keys.count, 1, "a lone JWK is a set of one")
        XCTAssertEqual(try JWKSet(jsonBytes: Array(#"{"keys":[]}"#.utf8)).keys.count, 0)
        XCTAssertThrowsError(try JWKSet(json: ["keys": "x"]))
        XCTAssertThrowsError(try JWKSet(json: ["foo": []]))
        XCTAssertThrowsError(try JWKSet(json: []))
        XCTAssertThrowsError(try JWKSet(jsonBytes: Array("{".utf8)))
    }

    func testCandidatesByKidThenThumbprintThenAll() throws {
        let a = F.publicJWK(.p384(F.ecKey), kid: "a")
        let b = F.publicJWK(.rsa(F.rsaKey))
        let set = JWKSet(keys: [a, b])
        func candidates(_ header: JSONValue) -> [String] {
            let jwt = try! JWT.decode(F.token(header: header, payload: [:]) { _ in [] })
            return set.candidates(for: jwt).map(\.thumbprint)
        }
        XCTAssertEqual(candidates(["alg": "ES384", "kid": "a"]), [a.thumbprint])
        XCTAssertEqual(candidates(["alg": "RS384", "kid": .string(b.thumbprint)]), [b.thumbprint])
        XCTAssertEqual(candidates(["alg": "RS384"]), [a.thumbprint, b.thumbprint])
        XCTAssertEqual(candidates(["alg": "RS384", "kid": "zzz"]), [])
    }

    // MARK: Verifying

    func testVerifiesES384AndRS384() throws {
        let ecToken = F.signed(header: ["alg": "ES384"], payload: ["n": 1], with: .p384(F.ecKey))
        let rsaToken = F.signed(header: ["alg": "RS384"], payload: ["n": 1], with: .rsa(F.rsaKey))
        let ec = F.publicJWK(.p384(F.ecKey)), rsa = F.publicJWK(.rsa(F.rsaKey))
        XCTAssertTrue(ec.verify(try JWT.decode(ecToken)))
        XCTAssertTrue(rsa.verify(try JWT.decode(rsaToken)))
        XCTAssertTrue(try JWK(pem: F.rsaKey.publicKey.pemRepresentation).verify(try JWT.decode(rsaToken)))
        XCTAssertFalse(ec.verify(try JWT.decode(rsaToken)))
        XCTAssertFalse(rsa.verify(try JWT.decode(ecToken)))
        XCTAssertFalse(F.publicJWK(.p384(F.otherECKey)).verify(try JWT.decode(ecToken)))
        // A key that declares its alg only verifies that alg.
        XCTAssertTrue(F.publicJWK(.p384(F.ecKey), alg: "ES384").verify(try JWT.decode(ecToken)))
    }

    func testRejectsTamperingAndWrongAlgorithms() throws {
        let ec = F.publicJWK(.p384(F.ecKey)), rsa = F.publicJWK(.rsa(F.rsaKey))
        let token = F.signed(header: ["alg": "ES384"], payload: ["sub": "a"], with: .p384(F.ecKey))
        let parts = token.split(separator: ".").map(String.init)
        let tamperedPayload = parts[0] + "." + Base64URL.encode(Array(#"{"sub":"b"}"#.utf8)) + "." + parts[2]
        XCTAssertFalse(ec.verify(try JWT.decode(tamperedPayload)))
        // The same signature under another header alg.
        let relabelled = Base64URL.encode(Array(#"{"alg":"ES512"}"#.utf8)) + "." + parts[1] + "." + parts[2]
        XCTAssertFalse(ec.verify(try JWT.decode(relabelled)))

        // ES384 signed, but the header says RS384 / ES256 / none / HS384.
        for alg in ["RS384", "ES256", "none", "HS384", "PS384"] {
            let wrong = F.signed(header: ["alg": .string(alg)], payload: ["sub": "a"], with: .p384(F.ecKey))
            XCTAssertFalse(ec.verify(try JWT.decode(wrong)), alg)
        }
        for alg in ["RS256", "RS512", "PS384", "none"] {
            let wrong = F.signed(header: ["alg": .string(alg)], payload: ["sub": "a"], with: .rsa(F.rsaKey))
            XCTAssertFalse(rsa.verify(try JWT.decode(wrong)), alg)
        }
        // `none` with no signature; HS256 keyed with the public key.
        XCTAssertFalse(ec.verify(try JWT.decode(F.token(header: ["alg": "none"], payload: ["sub": "a"]) { _ in [] })))
        let pem = Array(F.ecKey.publicKey.pemRepresentation.utf8)
        let hs = F.token(header: ["alg": "HS256"], payload: ["sub": "a"]) { input in
            Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: pem)))
        }
        XCTAssertFalse(ec.verify(try JWT.decode(hs)))

        // A DER-encoded ECDSA signature is not the JWS form.
        let der = F.token(header: ["alg": "ES384"], payload: ["sub": "a"]) { input in
            Array(try! F.ecKey.signature(for: input).derRepresentation)
        }
        XCTAssertFalse(ec.verify(try JWT.decode(der)))
        // Truncated signatures.
        let shortEC = F.token(header: ["alg": "ES384"], payload: ["sub": "a"]) { _ in Array(repeating: 1, count: 95) }
        XCTAssertFalse(ec.verify(try JWT.decode(shortEC)))
        let emptyRSA = F.token(header: ["alg": "RS384"], payload: ["sub": "a"]) { _ in [] }
        XCTAssertFalse(rsa.verify(try JWT.decode(emptyRSA)))
    }
}
