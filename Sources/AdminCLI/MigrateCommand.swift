import ArgumentParser
import ExportDomain
import Foundation
import Runtime
import Storage

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create the database, or bring its schema up to this build's version.",
        discussion: """
        The only command that changes the schema. atr-fcgi, atr-scheduler and the other atrctl
        commands refuse a database whose schema is not this build's (exit 78). On a big
        database, stop the services first: a migration may copy a table.
        """
    )

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        let database = try ConfigurationLoader.openDatabase(settings, migrating: true)
        let from: Int, to: Int
        do {
            (from, to) = try database.migrate()
        } catch let error as SchemaVersionError {
            FileHandle.standardError.write(Data("atrctl: \(settings.databasePath): \(error)\n".utf8))
            throw ExitCode(78)
        }
        print(from == to ? "database \(settings.databasePath): schema already at version \(to)"
                         : "database \(settings.databasePath): schema migrated from version \(from) to \(to)")
    }
}

/// The database for an atrctl command other than `migrate`: one whose schema is this build's,
/// or the process ends with the reason (exit 78), as the servers do.
enum AdminDatabase {
    static func open(_ settings: Settings) -> Database {
        do {
            return try ConfigurationLoader.openDatabase(settings)
        } catch {
            FileHandle.standardError.write(Data("atrctl: \(settings.databasePath): \(error)\n".utf8))
            exit(78)
        }
    }
}
