import ArgumentParser
import FHIRService

struct SecretsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage the server secrets kept outside git.",
        subcommands: [Init.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the signed-URL secret (SignedUrls.SecretFile) if it does not exist yet."
        )

        func run() throws {
            let settings = ConfigurationLoader.loadOrExit(program: "atrctl", readSecret: false)
            if try ConfigurationLoader.createSecretIfMissing(settings) {
                print("created \(settings.signedURLSecretFile)")
            }
        }
    }
}
