import ExportDomain
import FuzzSupport

/// A FHIRPath expression on the first line, a resource after it (a Patient when there is none):
/// parsing and evaluating.
@main enum FuzzFHIRPath {
    static let patient: [UInt8] = Array(#"{"resourceType":"Patient","id":"p1","name":[{"given":["A"]}]}"#.utf8)

    static func main() {
        FuzzDriver.run { input in
            let (expression, body) = input.lineAndBody
            _ = try? FHIRPathExpression.checkSyntax(expression)
            guard let compiled = try? FHIRPathExpression(expression) else { return }
            guard case .object(let resource)? = try? JSONParser.parse(body.isEmpty ? patient : body) else { return }
            _ = try? compiled.evaluate(resource)
        }
    }
}
