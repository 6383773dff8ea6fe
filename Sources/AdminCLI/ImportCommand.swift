import ArgumentParser
import ExportDomain
import Foundation
import Runtime
import Storage

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load NDJSON or Bundle JSON files straight into the database (upsert, like PUT).",
        discussion: """
        A file holding one Bundle is loaded entry by entry (a transaction Bundle all at once, with
        urn:uuid references resolved); any other file is read as NDJSON, one resource per line,
        committed in batches. Invalid lines are reported and skipped; the exit status is then 1.
        A batch that cannot be written (disk full, database locked past its busy timeout) is
        rolled back whole and stops the import with its file and line range, exit status 1;
        the batches before it stay written, and running the import again is safe (upsert).
        """
    )

    @Argument(help: "NDJSON or Bundle JSON files.")
    var files: [String]

    @Option(help: "Resources per database transaction.")
    var batchSize = 2000

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        let database = ConfigurationLoader.openDatabaseOrExit(settings, program: "atrctl")
        let importer = ResourceImporter(database: database, batchSize: batchSize)
        let started = Date()
        var stopped: ImportStopped?
        do {
            for file in files { try importer.importFile(file) }
        } catch let error as ImportStopped {
            stopped = error
        }
        importer.progress.finish()
        if let stopped { FileHandle.standardError.write(Data("atrctl import stopped at \(stopped)\n".utf8)) }
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        let deleted = importer.deleted > 0 ? ", \(importer.deleted) deleted" : ""
        print("imported \(importer.created + importer.updated) resources (\(importer.created) created, \(importer.updated) updated\(deleted)) "
              + "from \(files.count) file(s) in \(seconds) s; \(importer.failures) invalid")
        if importer.created + importer.updated + importer.deleted > 0 { refreshStatistics(database) }
        if importer.failures > 0 || stopped != nil { throw ExitCode(1) }
    }
}

/// After the summary: the rows are written whatever happens here, so a failure is a warning.
func refreshStatistics(_ database: Database) {
    do {
        try database.refreshPlannerStatistics()
    } catch {
        warnStatisticsNotRefreshed(error)
    }
}

func warnStatisticsNotRefreshed(_ error: Error) {
    FileHandle.standardError.write(Data("atrctl: warning: planner statistics not refreshed (run ANALYZE): \(error)\n".utf8))
}

struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild the reference and search indexes from the stored resources (Firely's $reindex)."
    )

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        let database = ConfigurationLoader.openDatabaseOrExit(settings, program: "atrctl")
        let progress = ProgressReporter(label: "reindex", total: nil)
        let count = try database.reindexAll { progress.update(done: Int64($0), count: $0) }
        progress.finish()
        print("reindexed \(count) resources")
        refreshStatistics(database)
    }
}
