import ExportDomain

/// The fixed context every target parses in, so that a saved crash replays exactly.
public enum FuzzFixtures {
    /// 2026-06-01T00:00:00Z.
    public static let now = FHIRInstant(millisecondsSinceEpoch: 1_780_272_000_000)
    public static let baseURL = "https://atr.example.org/fhir"
    public static let tokenURL = "https://atr.example.org/auth/token"
}

extension FuzzFixtures {
    /// The client the client-assertion seeds are signed for.
    public static let clientId = "fuzz-client"

    /// A P-384 key made for the fuzz seeds alone (it signs the committed client-assertion seeds);
    /// it opens nothing anywhere.
    public static let signingKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDB54qlv0d3b+u2TwH/D
        mwUnUGs9pL8PKHZrspXJld6xvDR5YRswawY4xKSw4ig0+WKhZANiAAQAhTPPK92t
        21F6EY3MqoZHMeKmr/LaOypBaTAnqNQ8oMKABqM+UDCiCXOQAnZ3Qetudqf5hmjl
        N3uFso+I2On8CwksAdJqmJzxtXPAAd9/HxBqfB7qyFaCz3QuweIdP6g=
        -----END PRIVATE KEY-----
        """

    public static let signer: AccessTokenSigner = {
        do { return try AccessTokenSigner(privateKeyPEM: signingKeyPEM) } catch { fatalError("the fuzz key: \(error)") }
    }()
}
