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

    /// Expressions the redactor applies on bytes (StreamingRedaction): it copies kept strings as
    /// stored, so its result must equal the parsed path's as JSON (escapes may be spelled otherwise).
    static let streaming: Redactor = {
        let expressions = [
            "descendants().where($this is Money)", "Coverage.costToBeneficiary", "Patient.name.given",
            "Group.member.entity", "descendants().ofType(Coding)",
        ]
        do { return try Redactor(fhirVersions: ["Fhir4.0"], omitElements: expressions) } catch { fatalError("\(error)") }
    }()

    static func main() {
        require(streaming.redactsOnBytes, "the streaming redactor does not stream")
        FuzzDriver.run { input in
            guard case .object(let resource)? = try? JSONParser.parse(input.bytes),
                  let type = resource["resourceType"]?.stringValue.map(ResourceType.init(stringLiteral:))
            else { return }
            let fromBytes = Result { try redactor.redact(type: type, json: input.bytes) }
            let fromParsed = Result { try redactor.redact(type: type, resource: resource)?.serialized() }
            if case .success(let bytes) = fromBytes, case .success(let parsed) = fromParsed {
                require(bytes == parsed, "redacting the bytes and redacting the parsed resource differ")
            }
            let streamed = Result { try streaming.redact(type: type, json: input.bytes) }
            let tree = Result { try streaming.redact(type: type, resource: resource)?.serialized() }
            if case .success(let bytes) = streamed, case .success(let parsed) = tree {
                require(bytes.map { try? JSONParser.parse($0) } == parsed.map { try? JSONParser.parse($0) },
                        "redacting on bytes and redacting the parsed resource differ")
            }
        }
    }
}
