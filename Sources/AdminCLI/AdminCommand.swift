import ArgumentParser

@main
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrctl",
        abstract: "Administer an ATR Export server: load data, rebuild indexes, render the nginx configuration.",
        discussion: "Reads Config/appsettings.json (or ATR_CONFIG), ATR_INSTANCE_SETTINGS and ATR_ environment variables, as the servers do.",
        subcommands: [MigrateCommand.self, DoctorCommand.self, StatusCommand.self, DatabaseCommand.self, ImportCommand.self, ReindexCommand.self, TasksCommand.self, AuditCommand.self, HistoryCommand.self, ClientsCommand.self, TokenCommand.self, NginxConfigCommand.self, ConfigCommand.self, SecretsCommand.self]
    )
}
