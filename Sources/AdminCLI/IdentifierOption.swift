import ArgumentParser

/// An id given as `--id ID` (as `clients add` takes it) or positionally, whichever a user types.
struct IdentifierOption: ParsableArguments {
    @Option(name: .customLong("id"), help: "The id.")
    var option: String?

    @Argument(help: "The id (or --id).")
    var argument: String?

    func validate() throws {
        guard (option == nil) != (argument == nil) else { throw ValidationError("give the id once: ID or --id ID") }
    }

    var value: String { option ?? argument ?? "" }
}
