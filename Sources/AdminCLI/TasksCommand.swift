import ArgumentParser
import ExportDomain
import Runtime
import Storage

struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "Inspect export tasks.",
        subcommands: [List.self, Show.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The most recent tasks, newest first.")

        @Option(help: "How many tasks to list.")
        var limit = 50

        func run() throws {
            let database = ConfigurationLoader.openDatabaseOrExit(ConfigurationLoader.loadOrExit(program: "atrctl"), program: "atrctl")
            for task in try database.tasks(limit: limit) {
                print("\(task.id)  \(task.state.rawValue.padding(9))  \(task.createdAt)  \(task.progress ?? "")")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One task: state, request, manifest or outcome.")

        @OptionGroup var task: IdentifierOption

        func run() throws {
            let id = task.value
            let database = ConfigurationLoader.openDatabaseOrExit(ConfigurationLoader.loadOrExit(program: "atrctl"), program: "atrctl")
            guard let task = try database.task(id) else { throw ValidationFailure("no task '\(id)'") }
            print("id: \(task.id)\nstate: \(task.state.rawValue)\nclient: \(task.clientId ?? "-")\ncreated: \(task.createdAt)")
            print("attempts: \(task.attempts)\nprogress: \(task.progress ?? "-")\ntransactionTime: \(task.transactionTime?.description ?? "-")")
            print("finished: \(task.finishedAt.map { FHIRInstant(millisecondsSinceEpoch: $0).description } ?? "-")")
            print("request: \(String(decoding: task.request, as: UTF8.self))")
            if let manifest = task.manifest { print("manifest: \(String(decoding: manifest, as: UTF8.self))") }
            if let outcome = task.outcome { print("outcome: \(String(decoding: outcome, as: UTF8.self))") }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
