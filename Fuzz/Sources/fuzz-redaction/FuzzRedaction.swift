import ExportDomain
import FuzzSupport

/// A stored resource, redacted with the default `OmitElements` and a few more: the byte path,
/// which skips parsing when no property it names is present, must agree with the parsed path.
@main enum FuzzRedaction {
    // Planning every expression over the whole R4 model is what makes a Redactor; once suffices.
    static let redactor: Redactor = {
        let expressions = [
            "descendants().where($this is Money)", "Coverage.costToBeneficiary", "Patient.name.given",
            "extension.value.ofType(Money)", "Group.member.entity", "descendants().ofType(Reference).display",
        ]
        do { return try Redactor(fhirVersions: ["Fhir4.0"], omitElements: expressions) } catch { fatalError("\(error)") }
    }()

    static func main() {
        FuzzDriver.run { input in
            guard case .object(let resource)? = try? JSONParser.parse(input.bytes),
                  let type = resource["resourceType"]?.stringValue.map(ResourceType.init(stringLiteral:))
            else { return }
            let fromBytes = Result { try redactor.redact(type: type, json: input.bytes) }
            let fromParsed = Result { try redactor.redact(type: type, resource: resource)?.serialized() }
            if case .success(let bytes) = fromBytes, case .success(let parsed) = fromParsed {
                require(bytes == parsed, "redacting the bytes and redacting the parsed resource differ")
            }
        }
    }
}
