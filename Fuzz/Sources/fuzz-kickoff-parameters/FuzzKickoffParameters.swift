import ExportDomain
import FuzzSupport

/// A POST kick-off: `operation` on the first line, the `Parameters` body after it.
@main enum FuzzKickoffParameters {
    static func main() {
        FuzzDriver.run { input in
            let (line, body) = input.lineAndBody
            let operation = ExportOperation(rawValue: line) ?? .davinciDataExport
            guard let request = try? ExportKickoff.parse(
                method: "POST", operation: operation, groupId: "g1", query: [], accept: "application/fhir+json",
                prefer: "respond-async", contentType: "application/fhir+json", body: body,
                now: FuzzFixtures.now, requestURL: "fuzz")
            else { return }
            requireValid(request, operation: operation)
        }
    }
}
