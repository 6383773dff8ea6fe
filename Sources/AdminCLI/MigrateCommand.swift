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
            ConfigurationLoader.exitForConfiguration("atrctl", "\(settings.databaseDescription): \(error)")
        }
        print(from == to ? "database \(settings.databaseDescription): schema already at version \(to)"
                         : "database \(settings.databaseDescription): schema migrated from version \(from) to \(to)")
    }
}
