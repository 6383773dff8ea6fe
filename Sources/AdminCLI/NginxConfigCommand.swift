import ArgumentParser
import ExportDomain
import Foundation
import Runtime

struct NginxConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx-config",
        abstract: "Render an nginx configuration template with values from the settings, so nginx and the app agree."
    )

    @Option(help: "Template with {{placeholders}}.")
    var template: String

    @Option(help: "Where to write the rendered configuration.")
    var output: String

    @Option(name: .customLong("set"), help: "Extra placeholder values, NAME=VALUE.")
    var extra: [String] = []

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        guard let text = FileManager.default.contents(atPath: template).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw ValidationFailure("cannot read \(template)")
        }
        var values = NginxTemplate.values(for: settings, workingDirectory: FileManager.default.currentDirectoryPath)
        for pair in extra {
            guard let equals = pair.firstIndex(of: "=") else { throw ValidationFailure("--set takes NAME=VALUE, not '\(pair)'") }
            values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        let rendered = try NginxTemplate.render(text, values: values)
        try Data(rendered.utf8).write(to: URL(fileURLWithPath: output))
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check the configuration and print the effective value of a setting placeholder (see nginx-config)."
    )

    @Argument(help: "A placeholder name, e.g. listen_port; without it, only check.")
    var name: String?

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        guard let name else {
            print("configuration ok")
            return
        }
        let values = NginxTemplate.values(for: settings, workingDirectory: FileManager.default.currentDirectoryPath)
        guard let value = values[name] else { throw ValidationFailure("unknown name '\(name)'; known: \(values.keys.sorted().joined(separator: ", "))") }
        print(value)
    }
}
