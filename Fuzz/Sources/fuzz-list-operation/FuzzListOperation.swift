import ExportDomain
import FuzzSupport

/// A `Parameters` body, given to each of `$member-add`, `$member-remove`,
/// `$confirm-attribution-list` and `$attribution-status`.
@main enum FuzzListOperation {
    static func main() {
        FuzzDriver.run { input in
            for operation in ListOperation.allCases {
                guard let parsed = try? ListOperationInput.parse(
                    operation, contentType: "application/fhir+json", body: input.bytes, baseURL: FuzzFixtures.baseURL)
                else { continue }
                require(parsed.patientReference.map { $0.type == "Patient" } != false, "a patientReference to another type")
                require(parsed.coverageReference.map { $0.type == "Coverage" } != false, "a coverageReference to another type")
                if operation == .memberAdd || operation == .memberRemove {
                    require((parsed.memberId == nil) != (parsed.patientReference == nil), "not exactly one member")
                }
            }
        }
    }
}
