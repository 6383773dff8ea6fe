import ExportDomain
import Foundation

/// The two secrets kept outside git: the key nginx signs `/files/` links with
/// (`SignedUrls.SecretFile`) and the P-384 key the built-in issuer signs access tokens with
/// (`SmartAuthorizationOptions.SigningKeyFile`). The one place that creates and reads them.
public enum ServerSecrets {
    static let urlSecretKey = "SignedUrls.SecretFile"
    static let signingKeyKey = "SmartAuthorizationOptions.SigningKeyFile"

    /// Creates each secret that is missing (mode 0600, directory 0700): 32 random bytes in
    /// base64 for the URL secret, a fresh P-384 PEM key when the built-in issuer is on.
    /// Returns the paths created; existing files are never touched.
    public static func createMissing(_ settings: Settings) throws -> [String] {
        var created: [String] = []
        if try create(settings.signedURLSecretFile, key: urlSecretKey, contents: {
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            return Data(bytes).base64EncodedString() + "\n"
        }) {
            created.append(settings.signedURLSecretFile)
        }
        if settings.smart.builtInAuthorizationServer,
           try create(settings.smart.signingKeyFile, key: signingKeyKey, contents: AccessTokenSigner.generatePrivateKeyPEM) {
            created.append(settings.smart.signingKeyFile)
        }
        return created
    }

    /// The URL secret: one line of at least 16 characters that nginx can hold in a quoted string.
    public static func urlSecret(_ settings: Settings) throws -> String {
        let path = settings.signedURLSecretFile
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: urlSecretKey, "cannot read \(path); create it with `atrctl secrets init`")
        }
        let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard secret.count >= 16, !secret.contains("\""), !secret.contains("\\"), !secret.contains("\n") else {
            throw ConfigurationError(key: urlSecretKey, "\(path) must hold one line of at least 16 characters without quotes or backslashes")
        }
        return secret
    }

    /// The built-in issuer's signer, from the signing key file.
    public static func tokenSigner(_ smart: SmartSettings) throws -> AccessTokenSigner {
        guard let data = FileManager.default.contents(atPath: smart.signingKeyFile) else {
            throw ConfigurationError(key: signingKeyKey, "cannot read \(smart.signingKeyFile); create it with `atrctl secrets init`")
        }
        do {
            return try AccessTokenSigner(privateKeyPEM: String(decoding: data, as: UTF8.self), kid: "atr-export-1")
        } catch {
            throw ConfigurationError(key: signingKeyKey, "\(smart.signingKeyFile) is not a P-384 private key in PEM: \(error)")
        }
    }

    private static func create(_ path: String, key: String, contents: () -> String) throws -> Bool {
        guard !FileManager.default.fileExists(atPath: path) else { return false }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(contents().utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError(key: key, "cannot create \(path)")
        }
        return true
    }
}
