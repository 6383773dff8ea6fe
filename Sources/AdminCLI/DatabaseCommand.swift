import ArgumentParser
import Foundation
import Runtime
import Storage

struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Database maintenance.",
        subcommands: [Backup.self]
    )

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the live database to a new file (SQLite's online backup: the servers keep running), then check the copy."
        )

        @Argument(help: "The new file; it must not exist.")
        var path: String

        func run() throws {
            let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
            let database = ConfigurationLoader.openDatabaseOrExit(settings, program: "atrctl")
            do {
                let pages = try database.backup(to: path)
                print("backed up \(settings.databasePath) to \(path): \(pages) pages, integrity ok")
            } catch {
                throw ValidationFailure("backup failed: \(error)")
            }
        }
    }
}
