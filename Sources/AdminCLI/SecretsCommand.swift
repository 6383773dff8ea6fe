import ArgumentParser
import ExportDomain
import Foundation
import Runtime

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
            for path in try ServerSecrets.createMissing(settings) { print("created \(path)") }
        }
    }
}
