import ArgumentParser
import ExportDomain
import Foundation
import Runtime

struct NginxConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx-config",
        abstract: "Render an nginx configuration template with values from the settings, so nginx and the app agree."
    )

    @Option(help: "Template with {{placeholders}}; {{include FILE}} inlines FILE (relative to the template).")
    var template: String

    @Option(help: "Where to write the rendered configuration.")
    var output: String

    @Option(help: "The values that differ between sites: dev (needs --set state_dir=DIR) or production.")
    var site: NginxSite?

    @Option(name: .customLong("set"), help: "Extra placeholder values, NAME=VALUE; they win over the settings' and the site's.")
    var extra: [String] = []

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        var values = NginxTemplate.values(for: settings, workingDirectory: FileManager.default.currentDirectoryPath)
        for pair in extra {
            guard let equals = pair.firstIndex(of: "=") else { throw ValidationFailure("--set takes NAME=VALUE, not '\(pair)'") }
            values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        if let site { values = try site.values(given: values) }
        let directory = URL(fileURLWithPath: template).deletingLastPathComponent()
        let rendered = try NginxTemplate.render(try Self.read(template), values: values) { path in
            try Self.read(path.hasPrefix("/") ? path : directory.appendingPathComponent(path).path)
        }
        try Data(rendered.utf8).write(to: URL(fileURLWithPath: output))
    }

    private static func read(_ path: String) throws -> String {
        guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw ValidationFailure("cannot read \(path)")
        }
        return text
    }
}

extension NginxSite: ExpressibleByArgument {}

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
