import ArgumentParser
import ExportDomain
import Foundation
import Runtime
import Storage

struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Database maintenance.",
        subcommands: [Backup.self, MigrateToPostgres.self]
    )

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the live database to a new file (SQLite's online backup: the servers keep running), then check the copy."
        )

        @Argument(help: "The new file; it must not exist.")
        var path: String

        func run() throws {
            let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
            guard settings.databaseProvider == .sqlite else {
                throw ValidationFailure(
                    "atrctl db backup copies the SQLite database; on PostgreSQL use pg_dump, e.g.\n"
                        + "  pg_dump --format=custom --file=\(path) '\(settings.databaseConnectionString)'")
            }
            let database = ConfigurationLoader.openDatabaseOrExit(settings, program: "atrctl")
            do {
                let pages = try database.backup(to: path)
                print("backed up \(settings.databaseDescription) to \(path): \(pages) pages, integrity ok")
            } catch {
                throw ValidationFailure("backup failed: \(error)")
            }
        }
    }

    struct MigrateToPostgres: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate-to-postgres",
            abstract: "Copy the configured SQLite database (resources with their versions, tasks, clients, audit) into an empty PostgreSQL database, and verify the counts.",
            discussion: "Stop the services first. Afterwards set Database.Provider to PostgreSQL and Database.ConnectionString to the same connection string."
        )

        @Option(help: "The target in libpq's syntax, e.g. 'host=db.internal dbname=atr user=atr'; no password in it.")
        var connection: String

        @Option(help: "A file holding the target's password (otherwise libpq's PGPASSFILE / ~/.pgpass).")
        var passwordFile: String?

        func run() throws {
            let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
            guard settings.databaseProvider == .sqlite else {
                throw ValidationFailure("the configured database is already PostgreSQL; the source of the copy is the SQLite database (Database.Provider Sqlite)")
            }
            guard !ConnectionStrings.containsPassword(connection) else {
                throw ValidationFailure("--connection must not hold a password: give --password-file or use PGPASSFILE")
            }
            var password: String?
            if let passwordFile {
                guard let read = ConfigurationLoader.readPasswordFile(passwordFile) else { throw ValidationFailure("cannot read \(passwordFile)") }
                password = read
            }
            let source = ConfigurationLoader.openDatabaseOrExit(settings, program: "atrctl")
            do {
                let target = try Database(location: .postgresql(connectionString: connection, password: password),
                                          busyTimeoutMilliseconds: settings.databaseBusyTimeout, baseURL: settings.publicBaseURL)
                var statisticsFailure: Error?
                let copied = try source.copyEverything(to: target, progress: { table, rows in
                    FileHandle.standardError.write(Data("  \(table): \(rows) rows…\n".utf8))
                }, statisticsNotRefreshed: { statisticsFailure = $0 })
                for (table, rows) in copied { print("\(table): \(rows) rows") }
                print("copied \(settings.databasePath) to PostgreSQL (\(connection)); every table's count verified")
                // After the summary, as after an import: the copy has committed either way.
                if let statisticsFailure { warnStatisticsNotRefreshed(statisticsFailure) }
            } catch {
                throw ValidationFailure("migrate-to-postgres failed: \(error)")
            }
        }
    }
}
