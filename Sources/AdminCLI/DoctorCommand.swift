import ArgumentParser
import ExportDomain
import Foundation
import Runtime
import Storage

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this host can run the server: configuration, database, directories, secrets, nginx, disk. One line per check; exit 1 if any fails."
    )

    @Option(help: "The nginx configuration to test with `nginx -t`.")
    var nginxConf = "/etc/nginx/nginx.conf"

    @Option(help: "nginx's prefix directory (-p), for a configuration with relative paths.")
    var nginxPrefix: String?

    @Option(help: "Free space below this many MB where files are written fails the check.")
    var minimumFreeMB = 512

    func run() throws {
        var checks = DoctorChecks(minimumFreeBytes: Int64(minimumFreeMB) << 20)
        guard let settings = checks.configuration() else { throw ExitCode(1) }
        let database = checks.database(settings)
        checks.directory("task directory", settings.taskFileStoragePath)
        if settings.databaseProvider == .sqlite {
            checks.directory("database directory", (settings.databasePath as NSString).deletingLastPathComponent)
        } else if !settings.databasePasswordFile.isEmpty {
            checks.secret("database password file", settings.databasePasswordFile)
        }
        checks.secret("URL signing secret", settings.signedURLSecretFile)
        if settings.smart.enabled && settings.smart.builtInAuthorizationServer {
            checks.secret("token signing key", settings.smart.signingKeyFile)
        }
        checks.nginx(conf: nginxConf, prefix: nginxPrefix)
        checks.clock(database, settings: settings)
        if checks.failed { throw ExitCode(1) }
    }
}
