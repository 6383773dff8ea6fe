import Foundation
import XCTest
@testable import ExportDomain

/// Redaction with the seed configuration (spec "Element redaction"):
/// `OmitElements: ["descendants().where($this is Money)", "Coverage.costToBeneficiary"]`.
final class RedactionTests: XCTestCase {
    static let seedExpressions = ["descendants().where($this is Money)", "Coverage.costToBeneficiary"]
    // One redactor for the whole class: building one analyses every resource type.
    static let seed: Redactor = try! Redactor(fhirVersions: ["Fhir4.0"], omitElements: seedExpressions)

    private func object(_ text: String) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(text) else { fatalError("bad fixture \(text)") }
        return object
    }

    private func compact(_ text: String) -> String {
        (try? JSONParser.parse(text))!.serializedString
    }

    /// Redacts and returns the result as text (nil when unchanged).
    private func redact(_ type: ResourceType, _ text: String, with redactor: Redactor = RedactionTests.seed,
                        file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            return try redactor.redact(type: type, json: Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return nil
        }
    }

    private static let subsetted = #"{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"subsetted"}"#

    // MARK: The seed's two expressions

    func testCoverageLosesCostToBeneficiaryAndMoneyExtensions() {
        // Shaped like samples/atr-sample.json's Coverage resources.
        let stored = #"""
        {"resourceType":"Coverage","id":"coverage-alice","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00Z"},
         "extension":[{"url":"http://example.org/annual-premium","valueMoney":{"value":7420.0,"currency":"USD"}},
                      {"url":"http://example.org/premium-contribution","extension":[
                          {"url":"contributor","valueString":"Springfield Public Schools"},
                          {"url":"amount","valueMoney":{"value":5936.0,"currency":"USD"}},
                          {"url":"percent","valueDecimal":80}]},
                      {"url":"http://example.org/only-money","extension":[{"url":"amount","valueMoney":{"value":1,"currency":"USD"}}]}],
         "modifierExtension":[{"url":"http://example.org/mod","valueMoney":{"value":2,"currency":"USD"}},{"url":"http://example.org/keep","valueBoolean":true}],
         "status":"active","subscriberId":"ACME-200117","beneficiary":{"reference":"Patient/patient-alice"},
         "period":{"start":"2026-01-01","end":"2026-12-31"},"payor":[{"reference":"Organization/payer-acme"}],
         "costToBeneficiary":[{"type":{"coding":[{"code":"copay"}]},"valueMoney":{"value":20,"currency":"USD"},
                               "exception":[{"type":{"text":"x"}}]},
                              {"valueQuantity":{"value":20,"unit":"%"}}]}
        """#
        let expected = #"""
        {"resourceType":"Coverage","id":"coverage-alice","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00Z","tag":[SUBSETTED]},
         "extension":[{"url":"http://example.org/premium-contribution","extension":[
                          {"url":"contributor","valueString":"Springfield Public Schools"},
                          {"url":"percent","valueDecimal":80}]}],
         "modifierExtension":[{"url":"http://example.org/keep","valueBoolean":true}],
         "status":"active","subscriberId":"ACME-200117","beneficiary":{"reference":"Patient/patient-alice"},
         "period":{"start":"2026-01-01","end":"2026-12-31"},"payor":[{"reference":"Organization/payer-acme"}]}
        """#.replacingOccurrences(of: "[SUBSETTED]", with: "[" + Self.subsetted + "]")
        XCTAssertEqual(redact("Coverage", stored), compact(expected))
    }

    func testTypedMoneyElementsInClaimsAndPlans() {
        let claim = #"""
        {"resourceType":"Claim","id":"c1","status":"active",
         "item":[{"sequence":1,"productOrService":{"text":"visit"},"quantity":{"value":2},
                  "unitPrice":{"value":50,"currency":"USD"},"factor":1,"net":{"value":100,"currency":"USD"},
                  "detail":[{"sequence":1,"productOrService":{"text":"lab"},"net":{"value":10,"currency":"USD"},
                             "subDetail":[{"sequence":1,"productOrService":{"text":"x"},"unitPrice":{"value":1,"currency":"USD"}}]}]}],
         "total":{"value":100,"currency":"USD"}}
        """#
        let claimExpected = #"""
        {"resourceType":"Claim","id":"c1","meta":{"tag":[SUBSETTED]},"status":"active",
         "item":[{"sequence":1,"productOrService":{"text":"visit"},"quantity":{"value":2},"factor":1,
                  "detail":[{"sequence":1,"productOrService":{"text":"lab"},
                             "subDetail":[{"sequence":1,"productOrService":{"text":"x"}}]}]}]}
        """#.replacingOccurrences(of: "[SUBSETTED]", with: "[" + Self.subsetted + "]")
        XCTAssertEqual(redact("Claim", claim), compact(claimExpected))

        // ExplanationOfBenefit: content references (addItem.adjudication is item.adjudication).
        let eob = #"""
        {"resourceType":"ExplanationOfBenefit","id":"e1",
         "addItem":[{"productOrService":{"text":"a"},"adjudication":[{"category":{"text":"paid"},"amount":{"value":3,"currency":"USD"},"value":0.5}]}],
         "total":[{"category":{"text":"submitted"},"amount":{"value":3,"currency":"USD"}}],
         "payment":{"type":{"text":"complete"},"amount":{"value":3,"currency":"USD"},"adjustment":{"value":0,"currency":"USD"}}}
        """#
        let eobExpected = #"""
        {"resourceType":"ExplanationOfBenefit","id":"e1","meta":{"tag":[SUBSETTED]},
         "addItem":[{"productOrService":{"text":"a"},"adjudication":[{"category":{"text":"paid"},"value":0.5}]}],
         "total":[{"category":{"text":"submitted"}}],
         "payment":{"type":{"text":"complete"}}}
        """#.replacingOccurrences(of: "[SUBSETTED]", with: "[" + Self.subsetted + "]")
        XCTAssertEqual(redact("ExplanationOfBenefit", eob), compact(eobExpected))

        // InsurancePlan: generalCost.cost is Money; specificCost…cost.value is a Quantity and stays.
        let plan = #"""
        {"resourceType":"InsurancePlan","id":"ip",
         "plan":[{"generalCost":[{"groupSize":1,"cost":{"value":100,"currency":"USD"}}],
                  "specificCost":[{"category":{"text":"x"},"benefit":[{"type":{"text":"y"},"cost":[{"type":{"text":"copay"},"value":{"value":20,"unit":"USD"}}]}]}]}]}
        """#
        let planExpected = #"""
        {"resourceType":"InsurancePlan","id":"ip","meta":{"tag":[SUBSETTED]},
         "plan":[{"generalCost":[{"groupSize":1}],
                  "specificCost":[{"category":{"text":"x"},"benefit":[{"type":{"text":"y"},"cost":[{"type":{"text":"copay"},"value":{"value":20,"unit":"USD"}}]}]}]}]}
        """#.replacingOccurrences(of: "[SUBSETTED]", with: "[" + Self.subsetted + "]")
        XCTAssertEqual(redact("InsurancePlan", plan), compact(planExpected))
    }

    func testMoneyInPrimitiveExtensionsContainedAndBackbones() {
        let patient = #"""
        {"resourceType":"Patient","id":"p","meta":{"tag":[{"system":"s","code":"c"}]},
         "birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://x/price","valueMoney":{"value":1}}]},
         "name":[{"given":["A","B"],"_given":[{"id":"g0","extension":[{"url":"u","valueMoney":{"value":2}}]},{"extension":[{"url":"u","valueString":"k"}]}]}],
         "contact":[{"modifierExtension":[{"url":"m","valueMoney":{"value":3}}],"name":{"text":"C"}}],
         "contained":[{"resourceType":"Coverage","id":"cov","status":"active","beneficiary":{"reference":"#"},
                       "costToBeneficiary":[{"valueMoney":{"value":4}}],"extension":[{"url":"e","valueMoney":{"value":5}}]}]}
        """#
        // The contained Coverage's costToBeneficiary is Money-valued; "Coverage.costToBeneficiary"
        // itself only applies to Coverage resources, so the emptied costToBeneficiary goes by pruning.
        let expected = #"""
        {"resourceType":"Patient","id":"p","meta":{"tag":[{"system":"s","code":"c"},SUBSETTED]},
         "birthDate":"1970-01-01",
         "name":[{"given":["A","B"],"_given":[null,{"extension":[{"url":"u","valueString":"k"}]}]}],
         "contact":[{"name":{"text":"C"}}],
         "contained":[{"resourceType":"Coverage","id":"cov","status":"active","beneficiary":{"reference":"#"}}]}
        """#.replacingOccurrences(of: "SUBSETTED", with: Self.subsetted)
        XCTAssertEqual(redact("Patient", patient), compact(expected))
    }

    func testNothingElseChangesAndUntouchedResourcesAreNil() {
        // Group, Patient, RelatedPerson … without Money: nil (write the stored bytes).
        let group = #"{"resourceType":"Group","id":"g","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/a"},"extension":[{"url":"http://x","valueReference":{"reference":"Coverage/c"}}]}]}"#
        XCTAssertNil(redact("Group", group))
        let patient = #"{"resourceType":"Patient","id":"p","name":[{"family":"valueMoney"}],"note":"costToBeneficiary"}"#
        XCTAssertNil(redact("Patient", patient))
        XCTAssertTrue(Self.seed.isUnchangedWithoutParsing(type: "Patient", json: Array(patient.utf8)))
        // Coverage with a Quantity costToBeneficiary: still removed (second expression).
        let coverage = #"{"resourceType":"Coverage","id":"c","status":"active","costToBeneficiary":[{"valueQuantity":{"value":1}}],"payor":[{"reference":"Organization/o"}]}"#
        XCTAssertEqual(redact("Coverage", coverage),
                       #"{"resourceType":"Coverage","id":"c","meta":{"tag":[\#(Self.subsetted)]},"status":"active","payor":[{"reference":"Organization/o"}]}"#)
        // A key that could hold Money but does not (a Quantity `amount`): parsed, unchanged, nil.
        let substance = #"{"resourceType":"Substance","id":"s","ingredient":[{"quantity":{"numerator":{"value":1}}}],"instance":[{"quantity":{"value":2}}],"extension":[{"url":"x","valueQuantity":{"value":1}}]}"#
        XCTAssertNil(redact("Substance", substance))
    }

    func testFastPathNeverParses() {
        // Not even JSON: without a candidate key the bytes are never parsed.
        let garbage = Array(#"{"resourceType":"Patient","id":"p", this is not JSON"#.utf8)
        XCTAssertNil(try Self.seed.redact(type: "Patient", json: garbage))
        // With a candidate key they are.
        let garbageWithMoney = Array(#"{"resourceType":"Patient","valueMoney": nope"#.utf8)
        XCTAssertThrowsError(try Self.seed.redact(type: "Patient", json: garbageWithMoney))
        // Keys with whitespace before the colon and escaped keys are candidates.
        let matcher = JSONKeyMatcher(["valueMoney", "net"])
        XCTAssertTrue(matcher.occurs(in: Array(#"{"a":{"valueMoney" :1}}"#.utf8)))
        XCTAssertTrue(matcher.occurs(in: Array("{\"net\"\n:1}".utf8)))
        XCTAssertTrue(matcher.occurs(in: Array(#"{"value\u004doney":1}"#.utf8)))
        XCTAssertFalse(matcher.occurs(in: Array(#"{"a":"valueMoney","b":["net"],"c":"\"net\":"}"#.utf8)))
        XCTAssertFalse(matcher.occurs(in: Array(#"{"network":1,"ne":2,"valueMoneyX":3}"#.utf8)))
        XCTAssertTrue(matcher.occurs(in: Array(#"{"a":"x\"y","net":1}"#.utf8)))
        // Escaped backslashes before a closing quote, long strings, unterminated input.
        XCTAssertTrue(matcher.occurs(in: Array(#"{"a":"x\\","net":1}"#.utf8)))
        XCTAssertFalse(matcher.occurs(in: Array(#"{"a":"x\\\"net\":1 and a long tail of text","b":1}"#.utf8)))
        XCTAssertTrue(matcher.occurs(in: Array(#"{"description":"a long value that mentions valueMoney on its way","valueMoney":{}}"#.utf8)))
        XCTAssertFalse(matcher.occurs(in: Array(#"{"description":"a long value that mentions \"valueMoney\": on its way"}"#.utf8)))
        XCTAssertTrue(matcher.occurs(in: Array(#"{"a":"unterminated"#.utf8)))
        XCTAssertTrue(matcher.occurs(in: Array(#"{"a":"x\"#.utf8)))
    }

    func testFastPathNames() throws {
        let coverage = try XCTUnwrap(Self.seed.fastPathNames(for: "Coverage"))
        XCTAssertTrue(coverage.contains("costToBeneficiary"))
        XCTAssertTrue(coverage.contains("valueMoney"))
        let claim = try XCTUnwrap(Self.seed.fastPathNames(for: "Claim"))
        for name in ["net", "unitPrice", "total", "valueMoney"] { XCTAssertTrue(claim.contains(name), name) }
        let patient = try XCTUnwrap(Self.seed.fastPathNames(for: "Patient"))
        XCTAssertTrue(patient.contains("valueMoney"))
        XCTAssertTrue(patient.contains("net")) // a contained Claim
        XCTAssertFalse(patient.contains("costToBeneficiary") && !patient.contains("valueMoney"))
        XCTAssertFalse(patient.contains("name"))
        XCTAssertFalse(patient.contains("value"))
        // Unknown types are always parsed; an expression ending in unknown elements disables the fast path.
        XCTAssertNil(Self.seed.fastPathNames(for: "NotAType"))
        let all = try Redactor(fhirVersions: ["Fhir4.0"], omitElements: ["Patient.children()"])
        XCTAssertNil(all.fastPathNames(for: "Patient"))
        XCTAssertEqual(all.fastPathNames(for: "Group"), [])
        let one = try Redactor(fhirVersions: ["Fhir4.0"], omitElements: ["Patient.name.given", "Group.member.entity"])
        XCTAssertEqual(one.fastPathNames(for: "Patient"), ["_given", "given"])
        XCTAssertEqual(one.fastPathNames(for: "Group"), ["_entity", "entity"])
        XCTAssertEqual(one.fastPathNames(for: "Coverage"), [])
    }

    // MARK: Pruning

    func testPruningRules() throws {
        let redactor = try Redactor(fhirVersions: ["Fhir4.0"], omitElements: [
            "Patient.name.given", "Patient.telecom.value", "Patient.extension.where(url = 'a').value",
            "Patient.address.line.where($this = 'x')", "Patient.maritalStatus.coding.code",
        ])
        let patient = #"""
        {"resourceType":"Patient","id":"p",
         "extension":[{"url":"a","valueString":"v"},{"url":"b","extension":[{"url":"a","valueString":"w"}],"id":"e1"}],
         "name":[{"given":["A"],"_given":[{"extension":[{"url":"q","valueString":"r"}]}]},{"family":"F","given":["B"]}],
         "telecom":[{"value":"1"},{"id":"t","value":"2"},{"system":"phone","value":"3"}],
         "address":[{"line":["x","y"],"_line":[{"id":"l0"},{"id":"l1"}]}],
         "maritalStatus":{"coding":[{"code":"M"}],"text":"married"}}
        """#
        // extension a loses its value → removed whole; extension b keeps its nested one (a nested
        // `extension.where(url='a')` is not selected: the path starts at Patient.extension).
        // name[0] loses given (+ its companion) → empty → removed; telecom 0/1 → empty or id only → removed.
        // line "x" goes with its companion slot; coding loses code → empty → coding removed.
        let expected = #"""
        {"resourceType":"Patient","id":"p","meta":{"tag":[SUBSETTED]},
         "extension":[{"url":"b","extension":[{"url":"a","valueString":"w"}],"id":"e1"}],
         "name":[{"family":"F"}],
         "telecom":[{"system":"phone"}],
         "address":[{"line":["y"],"_line":[{"id":"l1"}]}],
         "maritalStatus":{"text":"married"}}
        """#.replacingOccurrences(of: "SUBSETTED", with: Self.subsetted)
        XCTAssertEqual(redact("Patient", patient, with: redactor), compact(expected))
    }

    func testCompanionOnlyPrimitivesAndNullSlots() throws {
        let redactor = try Redactor(fhirVersions: ["Fhir4.0"], omitElements: ["descendants().where($this is Money)"])
        // The only extension of `_birthDate` goes: the companion goes, the value stays.
        let patient = #"{"resourceType":"Patient","birthDate":"2000","_birthDate":{"extension":[{"url":"u","valueMoney":{"value":1}}]},"gender":"male","_gender":{"id":"x","extension":[{"url":"u","valueMoney":{"value":1}}]}}"#
        XCTAssertEqual(redact("Patient", patient, with: redactor),
                       #"{"resourceType":"Patient","meta":{"tag":[\#(Self.subsetted)]},"birthDate":"2000","gender":"male"}"#)
        // A primitive with only a companion: the companion is the element; it goes entirely.
        let onlyCompanion = #"{"resourceType":"Patient","id":"p","_birthDate":{"extension":[{"url":"u","valueMoney":{"value":1}}]},"given":null}"#
        XCTAssertEqual(redact("Patient", onlyCompanion, with: redactor),
                       #"{"resourceType":"Patient","id":"p","meta":{"tag":[\#(Self.subsetted)]},"given":null}"#)
        // Arrays of primitives with companions stay aligned.
        let aligned = #"{"resourceType":"Patient","name":[{"given":["a","b","c"],"_given":[{"extension":[{"url":"u","valueString":"s"}]},{"extension":[{"url":"u","valueMoney":{"value":1}}]},null]}]}"#
        XCTAssertEqual(redact("Patient", aligned, with: redactor),
                       #"{"resourceType":"Patient","meta":{"tag":[\#(Self.subsetted)]},"name":[{"given":["a","b","c"],"_given":[{"extension":[{"url":"u","valueString":"s"}]},null,null]}]}"#)
    }

    func testRemovingWholeArraysAndOverlappingSelections() throws {
        let redactor = try Redactor(fhirVersions: ["Fhir4.0"], omitElements: [
            "Patient.name", "Patient.name.given", "Patient.name | Patient.telecom", "Patient.identifier.first()",
        ])
        let patient = #"{"resourceType":"Patient","id":"p","identifier":[{"value":"1"},{"value":"2"}],"name":[{"given":["a"]}],"telecom":[{"value":"t"}],"active":true}"#
        XCTAssertEqual(redact("Patient", patient, with: redactor),
                       #"{"resourceType":"Patient","id":"p","meta":{"tag":[\#(Self.subsetted)]},"identifier":[{"value":"2"}],"active":true}"#)
    }

    func testAlreadySubsettedResourceGetsOneTag() {
        let coverage = #"{"resourceType":"Coverage","id":"c","meta":{"tag":[\#(Self.subsetted)]},"costToBeneficiary":[{"valueMoney":{"value":1}}],"status":"active"}"#
        XCTAssertEqual(redact("Coverage", coverage),
                       #"{"resourceType":"Coverage","id":"c","meta":{"tag":[\#(Self.subsetted)]},"status":"active"}"#)
    }

    func testParsedResourceAPI() throws {
        let resource = object(#"{"resourceType":"Coverage","id":"c","costToBeneficiary":[{"valueMoney":{"value":1}}]}"#)
        let redacted = try XCTUnwrap(Self.seed.redact(type: "Coverage", resource: resource))
        XCTAssertNil(redacted["costToBeneficiary"])
        XCTAssertTrue(Subsetting.hasSubsettedTag(redacted))
        XCTAssertNil(try Self.seed.redact(type: "Coverage", resource: object(#"{"resourceType":"Coverage","id":"c"}"#)))
    }

    // MARK: Configuration

    func testFhirVersions() throws {
        let r5Only = try Redactor(fhirVersions: ["Fhir5.0"], omitElements: Self.seedExpressions)
        XCTAssertFalse(r5Only.isActive)
        XCTAssertNil(try r5Only.redact(type: "Coverage", json: Array(#"{"resourceType":"Coverage","costToBeneficiary":[{}]}"#.utf8)))
        XCTAssertFalse(try Redactor(fhirVersions: ["Fhir4.0"], omitElements: []).isActive)
        XCTAssertFalse(Redactor.inactive.isActive)
        XCTAssertTrue(Self.seed.isActive)
        // Not R4: syntax and the supported subset are still checked, the type model is not.
        XCTAssertNoThrow(try Redactor(fhirVersions: ["Fhir5.0"], omitElements: ["Foo.bar.where($this is Baz)"]))
        XCTAssertThrowsError(try Redactor(fhirVersions: ["Fhir5.0"], omitElements: ["name.count()"]))
    }

    func testConfigurationErrorsNameExpressionAndPosition() {
        func failure(_ expressions: [String]) -> FHIRPathError? {
            do {
                _ = try Redactor(fhirVersions: ["Fhir4.0"], omitElements: expressions)
                return nil
            } catch {
                return error as? FHIRPathError
            }
        }
        let unsupported = failure(["Coverage.costToBeneficiary", "descendants().foo()"])
        XCTAssertEqual(unsupported, FHIRPathError(.redaction, expression: "descendants().foo()", position: 15, message: "unsupported function 'foo'"))
        XCTAssertEqual(unsupported?.description, "OmitElements expression 'descendants().foo()' at position 15: unsupported function 'foo'")
        XCTAssertEqual(failure(["descendants().where($this is Mony)"])?.message, "unknown type 'Mony'")
        XCTAssertEqual(failure(["descendants().where($this is Mony)"])?.position, 30)
        XCTAssertEqual(failure(["Coverage.costToBenficiary"]),
                       FHIRPathError(.redaction, expression: "Coverage.costToBenficiary", position: 10, message: "unknown element 'costToBenficiary' on Coverage"))
        XCTAssertEqual(failure(["Coverage.costToBeneficiary.valu"])?.message, "unknown element 'valu' on Coverage.costToBeneficiary")
        XCTAssertEqual(failure(["name.family.foo"])?.position, 13)
        XCTAssertEqual(failure(["descendants().where(urx = 'x')"])?.message.hasPrefix("unknown element 'urx'"), true)
        XCTAssertEqual(failure(["Patient.name[0]"])?.message, "unsupported indexer '['")
        XCTAssertEqual(failure(["Patient.where(active = false)"])?.message, "the expression selects the Patient resource itself, not elements in it")
        XCTAssertEqual(failure(["descendants().exists()"])?.message, "the expression computes values (such as a Boolean) instead of selecting elements")
        XCTAssertEqual(failure(["'x'"])?.position, 1)
        XCTAssertEqual(failure(["Patient.name | true"])?.message, "the expression computes values (such as a Boolean) instead of selecting elements")
        // Valid ones.
        for expression in ["name.given", "descendants().where(url = 'x')", "extension.where(url = 'x').value",
                           "Patient.name.where(use = 'old')", "Resource.meta.tag", "contained.Coverage.costToBeneficiary",
                           "Coverage.costToBeneficiary.value.ofType(Money)", "Questionnaire.item.item.text"] {
            XCTAssertNil(failure([expression]), expression)
        }
    }

    func testConcurrentUse() throws {
        let redactor = Self.seed
        let coverage = Array(#"{"resourceType":"Coverage","id":"c","costToBeneficiary":[{"valueMoney":{"value":1}}],"status":"active"}"#.utf8)
        let patient = Array(#"{"resourceType":"Patient","id":"p","extension":[{"url":"u","valueMoney":{"value":1}}],"active":true}"#.utf8)
        let expectedCoverage = try redactor.redact(type: "Coverage", json: coverage)
        let expectedPatient = try redactor.redact(type: "Patient", json: patient)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let result = i.isMultiple(of: 2) ? try? redactor.redact(type: "Coverage", json: coverage) : try? redactor.redact(type: "Patient", json: patient)
            XCTAssertEqual(result, i.isMultiple(of: 2) ? expectedCoverage : expectedPatient)
        }
    }

    func testInitIsQuick() throws {
        // Building a redactor analyses the expressions for all 146 resource types.
        let start = ContinuousClock.now
        _ = try Redactor(fhirVersions: ["Fhir4.0"], omitElements: Self.seedExpressions)
        let elapsed = ContinuousClock.now - start
        XCTAssertLessThan(elapsed, .seconds(10), "\(elapsed)")
        print("Redactor.init with the seed expressions: \(elapsed)")
    }
}
