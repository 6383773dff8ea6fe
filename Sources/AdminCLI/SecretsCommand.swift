import ArgumentParser
import ExportDomain
import FHIRService
import Foundation

struct SecretsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage the server secrets kept outside git.",
        subcommands: [Init.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the signed-URL secret and the token signing key if they do not exist yet.",
            discussion: "SignedUrls.SecretFile: 32 random bytes, base64. SmartAuthorizationOptions.SigningKeyFile: a P-384 private key (PEM) for ES384 access tokens. Both mode 0600."
        )

        func run() throws {
            let settings = ConfigurationLoader.loadOrExit(program: "atrctl", readSecret: false)
            if try ConfigurationLoader.createSecretIfMissing(settings) {
                print("created \(settings.signedURLSecretFile)")
            }
            let keyFile = settings.smart.signingKeyFile
            if settings.smart.builtInAuthorizationServer, !FileManager.default.fileExists(atPath: keyFile) {
                let directory = (keyFile as NSString).deletingLastPathComponent
                if !directory.isEmpty {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: 0o700])
                }
                let pem = AccessTokenSigner.generatePrivateKeyPEM()
                guard FileManager.default.createFile(atPath: keyFile, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw ValidationFailure("cannot create \(keyFile)")
                }
                print("created \(keyFile)")
            }
        }
    }
}
