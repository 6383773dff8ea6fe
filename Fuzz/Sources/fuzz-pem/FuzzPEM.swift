import ExportDomain
import FuzzSupport

/// PEM text: a client's public key file (`atrctl clients`) and the server's signing key file.
@main enum FuzzPEM {
    static func main() {
        FuzzDriver.run { input in
            let pem = input.text
            if let key = try? JWK(pem: pem) {
                let stored = try? JWK(json: key.json)
                require(stored?.thumbprint == key.thumbprint, "the key read from PEM does not read back as a JWK")
            }
            guard let signer = try? AccessTokenSigner(privateKeyPEM: pem) else { return }
            let token = signer.issue(
                clientId: FuzzFixtures.clientId, scope: "system/*.read", groups: ["g1"], issuer: FuzzFixtures.baseURL,
                audience: FuzzFixtures.baseURL, now: FuzzFixtures.now, lifetimeSeconds: 300, jti: "j1")
            let verifier = AccessTokenVerifier(
                keys: [signer.publicKey], issuer: FuzzFixtures.baseURL, audience: FuzzFixtures.baseURL)
            let claims = try? verifier.verify(token, now: FuzzFixtures.now)
            require(claims?.clientId == FuzzFixtures.clientId, "a token signed with the key does not verify")
        }
    }
}
