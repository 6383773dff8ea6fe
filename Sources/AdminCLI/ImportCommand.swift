import ArgumentParser
import ExportDomain
import FHIRService
import Foundation
import Storage

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load NDJSON or Bundle JSON files straight into the database (upsert, like PUT).",
        discussion: """
        A file holding one Bundle is loaded entry by entry (a transaction Bundle all at once, with
        urn:uuid references resolved); any other file is read as NDJSON, one resource per line,
        committed in batches. Invalid lines are reported and skipped; the exit status is then 1.
        """
    )

    @Argument(help: "NDJSON or Bundle JSON files.")
    var files: [String]

    @Option(help: "Resources per database transaction.")
    var batchSize = 2000

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        let database = try ConfigurationLoader.openDatabase(settings)
        let importer = ResourceImporter(database: database, batchSize: batchSize)
        let started = Date()
        for file in files {
            try importer.importFile(file)
        }
        importer.progress.finish()
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        print("imported \(importer.created + importer.updated) resources (\(importer.created) created, \(importer.updated) updated) "
              + "from \(files.count) file(s) in \(seconds) s; \(importer.failures) invalid")
        if importer.failures > 0 { throw ExitCode(1) }
    }
}

struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild the reference and search indexes from the stored resources (Firely's $reindex)."
    )

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        let database = try ConfigurationLoader.openDatabase(settings)
        let progress = ProgressReporter(label: "reindex", total: nil)
        let count = try database.reindexAll { progress.update(done: Int64($0), count: $0) }
        progress.finish()
        print("reindexed \(count) resources")
    }
}
