import Foundation
import XCTest
@testable import ExportDomain

/// The Swift FHIRPath engine against fhirpathpy: Tests/fhirpath-differential/corpus.json holds
/// resources and expressions, expected.json fhirpathpy's selections (written by
/// Tests/fhirpath-differential/generate.py, which can also verify it with `--check`). Every
/// pair must give the same selection: the same set of (JSON path, canonical value) items,
/// or an evaluation error on both sides. See generate.py for the canonical form.
final class FHIRPathDifferentialTests: XCTestCase {
    /// Tests/fhirpath-differential, next to this file's directory.
    private static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fhirpath-differential")

    private static func readJSON(_ name: String) throws -> JSONValue {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSONParser.parse([UInt8](data))
    }

    /// Canonical JSON: compact, object keys sorted, number literals as written.
    static func canonical(_ value: JSONValue) -> String {
        switch value {
        case .object(let object):
            let members = object.map { ($0.key, $0.value) }.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) }
            return "{" + members.map { JSONValue.string($0.0).serializedString + ":" + canonical($0.1) }.joined(separator: ",") + "}"
        case .array(let items):
            return "[" + items.map(canonical).joined(separator: ",") + "]"
        default:
            return value.serializedString
        }
    }

    /// A number normalised like Python's `format(Decimal(x).normalize(), "f")`.
    static func normalisedNumber(_ literal: String) -> String {
        guard let d = FHIRPathDecimal(literal), !d.digits.isEmpty else { return "0" }
        var digits = d.digits.map { String($0) }.joined()
        var text: String
        if d.exponent >= 0 {
            digits += String(repeating: "0", count: d.exponent)
            text = digits
        } else {
            let point = digits.count + d.exponent
            if point > 0 {
                text = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
            } else {
                text = "0." + String(repeating: "0", count: -point) + digits
            }
        }
        return (d.negative ? "-" : "") + text
    }

    /// The Swift engine's selection in the form of expected.json.
    static func selection(_ results: [FHIRPathResult]) -> Set<String> {
        var items = Set<String>()
        for result in results {
            switch result {
            case .element(let element):
                guard let value = element.value else { continue } // primitive with only `_name`
                let path = JSONValue.array(element.location.map { c in
                    switch c {
                    case .key(let k): return .string(k)
                    case .index(let i): return .integer(i)
                    }
                })
                items.insert(path.serializedString + " " + canonical(value))
            case .value(let value):
                switch value {
                case .boolean(let b): items.insert("null " + (b ? "true" : "false"))
                case .string(let s): items.insert("null " + JSONValue.string(s).serializedString)
                case .number(let n): items.insert("null " + normalisedNumber(n))
                }
            }
        }
        return items
    }

    func testSwiftEngineMatchesFhirpathpy() throws {
        let corpus = try Self.readJSON("corpus.json")
        let expected = try Self.readJSON("expected.json")
        guard let resources = corpus["resources"]?.objectValue, let cases = expected["cases"]?.arrayValue else {
            return XCTFail("malformed corpus or expected file")
        }
        XCTAssertEqual(expected["count"]?.intValue, cases.count)
        XCTAssertGreaterThanOrEqual(cases.count, 50)

        var compiled: [String: FHIRPathExpression] = [:]
        var typesCovered = Set<String>()
        var functionsCovered = Set<String>()
        var mismatches = 0
        for (n, testCase) in cases.enumerated() {
            guard let expression = testCase["expression"]?.stringValue, let name = testCase["resource"]?.stringValue,
                  case .object(let resource)? = resources[name] else {
                XCTFail("case \(n) is malformed")
                continue
            }
            let engine: FHIRPathExpression
            if let known = compiled[expression] {
                engine = known
            } else {
                do {
                    engine = try FHIRPathExpression(expression)
                } catch {
                    XCTFail("case \(n): '\(expression)' does not compile: \(error)")
                    continue
                }
                compiled[expression] = engine
            }
            if let type = resource["resourceType"]?.stringValue { typesCovered.insert(type) }
            for function in FHIRPathFunction.allCases where expression.contains(function.rawValue + "(") {
                functionsCovered.insert(function.rawValue)
            }

            let outcome: Result<[FHIRPathResult], FHIRPathError>
            do {
                outcome = .success(try engine.evaluate(resource))
            } catch {
                outcome = .failure(error)
            }
            if testCase["error"] != nil {
                if case .success(let results) = outcome {
                    mismatches += 1
                    XCTFail("case \(n) '\(expression)' on \(name): fhirpathpy fails (\(testCase["error"]!.stringValue ?? "")), Swift gives \(Self.selection(results).sorted())")
                }
                continue
            }
            guard let expectedItems = testCase["selection"]?.arrayValue else {
                XCTFail("case \(n) has no selection")
                continue
            }
            let want = Set(expectedItems.compactMap { item -> String? in
                guard let pair = item.arrayValue, pair.count == 2, let value = pair[1].stringValue else { return nil }
                return pair[0].serializedString + " " + value
            })
            switch outcome {
            case .failure(let error):
                mismatches += 1
                XCTFail("case \(n) '\(expression)' on \(name): Swift fails (\(error)), fhirpathpy gives \(want.sorted())")
            case .success(let results):
                let got = Self.selection(results)
                if got != want {
                    mismatches += 1
                    XCTFail("""
                    case \(n) '\(expression)' on \(name):
                      only fhirpathpy: \(want.subtracting(got).sorted())
                      only Swift:      \(got.subtracting(want).sorted())
                    """)
                }
            }
        }
        XCTAssertEqual(mismatches, 0)
        // What the corpus must cover.
        XCTAssertTrue(typesCovered.isSuperset(of: ["Group", "Patient", "Coverage", "RelatedPerson", "Practitioner",
                                                   "PractitionerRole", "Organization", "Location", "Consent"]),
                      "\(typesCovered.sorted())")
        XCTAssertEqual(functionsCovered, Set(FHIRPathFunction.allCases.map(\.rawValue)),
                       "missing: \(Set(FHIRPathFunction.allCases.map(\.rawValue)).subtracting(functionsCovered).sorted())")
        for op in [" is ", " as ", " | ", " = ", " != ", " and ", " or ", "$this", "'"] {
            XCTAssertTrue(compiled.keys.contains { $0.contains(op) }, "no expression uses \(op)")
        }
    }
}
