import ExportDomain
import FuzzSupport

/// A compact JWS, as a bearer token or client assertion arrives: decoding, the base64url it is
/// made of, and access-token verification with the fuzz key.
@main enum FuzzJWT {
    static let verifier = AccessTokenVerifier(
        keys: [FuzzFixtures.signer.publicKey], issuer: FuzzFixtures.baseURL, audience: FuzzFixtures.baseURL)

    static func main() {
        FuzzDriver.run { input in
            let token = input.text
            // Exactly one accepted encoding per byte string: what decodes re-encodes to itself.
            for part in token.split(separator: ".", omittingEmptySubsequences: false) {
                if let bytes = Base64URL.decode(part) {
                    require(Base64URL.encode(bytes) == part, "base64url '\(part)' is not canonical")
                }
            }
            _ = try? verifier.verify(token, now: FuzzFixtures.now)
            guard let jwt = try? JWT.decode(token) else { return }
            let bytes = Array(token.utf8)
            require(bytes.starts(with: jwt.signingInput), "the signing input is not the token's start")
            require(token.hasSuffix("." + Base64URL.encode(jwt.signature)), "the signature is not the token's end")
            require(jwt.algorithm != nil, "a JWT without alg")
        }
    }
}
