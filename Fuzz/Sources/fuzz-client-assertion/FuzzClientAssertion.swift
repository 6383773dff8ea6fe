import ExportDomain
import FuzzSupport

/// A client assertion at the token endpoint, for a client registered with the fuzz key. The
/// seeds hold assertions that key signed, so mutations reach the claim checks behind the signature.
@main enum FuzzClientAssertion {
    static let registered = RegisteredClientKeys(keys: [FuzzFixtures.signer.publicKey])

    static func main() {
        FuzzDriver.run { input in
            guard let accepted = try? ClientAssertionValidator.validate(
                assertion: input.text, tokenURL: FuzzFixtures.tokenURL, now: FuzzFixtures.now,
                client: { $0 == FuzzFixtures.clientId ? registered : nil })
            else { return }
            require(accepted.clientId == FuzzFixtures.clientId, "accepted for client \(accepted.clientId)")
            let lifetime = (accepted.expiresAt.millisecondsSinceEpoch - FuzzFixtures.now.millisecondsSinceEpoch) / 1000
            let leeway = Int64(ClientAssertionValidator.defaultLeewaySeconds)
            require((-leeway...ClientAssertionValidator.maximumLifetimeSeconds + leeway).contains(lifetime),
                    "accepted an assertion that lives \(lifetime) s")
            require(!accepted.jti.isEmpty && accepted.jti.utf8.count <= ClientAssertionValidator.maximumJTILength,
                    "accepted jti '\(accepted.jti)'")
        }
    }
}
