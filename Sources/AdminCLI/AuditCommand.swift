import ArgumentParser
import ExportDomain
import Foundation
import Runtime
import Storage

/// `atrctl audit`: the audit trail for an auditor, oldest first — a table, or with `--json` one
/// FHIR AuditEvent per line (NDJSON), as `GET {base}/AuditEvent` serves them.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "List the audit trail: every disclosure and every refused access.",
        discussion: "Times are FHIR dateTimes (2026-12-01, 2026-12-01T10:00:00Z); --since is inclusive, --until exclusive."
    )

    @Option(help: "Records at or after this time.")
    var since: String?

    @Option(help: "Records before this time.")
    var until: String?

    @Option(help: "Only this client's records.")
    var client: String?

    @Option(help: "Only records about this Group (its id).")
    var group: String?

    @Option(help: "Only these actions, comma-separated (\(AuditAction.allCases.map(\.rawValue).joined(separator: ", "))).")
    var type: String?

    @Flag(help: "One FHIR AuditEvent per line instead of a table.")
    var json = false

    func validate() throws {
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, FHIRInstant.parseDateTime(value) == nil {
                throw ValidationError("\(name) '\(value)' is not a FHIR dateTime (e.g. 2026-12-01 or 2026-12-01T10:00:00Z)")
            }
        }
    }

    func run() throws {
        let database = ConfigurationLoader.openDatabaseOrExit(ConfigurationLoader.loadOrExit(program: "atrctl"), program: "atrctl")
        var items: [(name: String, value: String)] = []
        if let since { items.append(("date", "ge" + since)) }
        if let until { items.append(("date", "lt" + until)) }
        if let client { items.append(("agent", client)) }
        if let group { items.append(("entity", "Group/\(group)")) }
        if let type { items.append(("type", type)) }
        var query: AuditQuery
        do {
            query = try AuditQuery.parse(items)
        } catch {
            throw ValidationFailure(error.diagnostics)
        }
        query.count = AuditQuery.maximumCount
        if !json {
            print(["recorded".padding(24), "action".padding(15), "outcome".padding(7), "client".padding(20), "address".padding(15), "entities / details"].joined(separator: " "))
        }
        while true {
            let records = try database.auditRecords(query)
            for record in records {
                if json {
                    print(AuditEventResource.json(record).serializedString)
                } else {
                    let entities = record.entities.map(\.value).joined(separator: " ")
                    let details = record.details.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
                    print([record.recorded.description.padding(24), record.action.rawValue.padding(15), record.outcome.rawValue.padding(7),
                           (record.clientId ?? "-").padding(20), (record.address ?? "-").padding(15), entities + (details.isEmpty ? "" : "  " + details)]
                        .joined(separator: " "))
                }
            }
            guard records.count == query.count, let last = records.last?.id else { break }
            query.after = last
        }
    }
}
