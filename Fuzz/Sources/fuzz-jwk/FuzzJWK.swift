import ExportDomain
import FuzzSupport

/// A JWKS document, as registered for a client or fetched from its jwks_url.
@main enum FuzzJWK {
    static func main() {
        FuzzDriver.run { input in
            guard let set = try? JWKSet(jsonBytes: input.bytes) else { return }
            // A client's keys are stored as the published JWKS: it must read back as the same keys.
            let stored = try? JWKSet(json: set.json)
            require(stored?.keys.map(\.thumbprint) == set.keys.map(\.thumbprint), "the JWKS does not read back")
            require(stored?.keys.map(\.kid) == set.keys.map(\.kid), "the kids do not read back")
        }
    }
}
