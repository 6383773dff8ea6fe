import ExportDomain
import XCTest

final class PrimitiveValuesTests: XCTestCase {
    private func refusal(_ json: String) -> String? {
        do {
            guard case .object(let resource) = try JSONParser.parse(json) else { return "not an object" }
            _ = try ResourceInput.resourceObject(.object(resource))
            return nil
        } catch let error as FHIRError {
            XCTAssertEqual(error.status, 400)
            return error.diagnostics
        } catch {
            return "\(error)"
        }
    }

    func testIntegersAreThirtyTwoBitWholeNumbers() {
        XCTAssertNil(refusal(#"{"resourceType":"Patient","multipleBirthInteger":2147483647}"#))
        XCTAssertEqual(refusal(#"{"resourceType":"Patient","multipleBirthInteger":2147483648}"#),
                       "Patient.multipleBirthInteger: 2147483648 is not a FHIR integer (a whole number from -2147483648 to 2147483647)")
        XCTAssertNotNil(refusal(#"{"resourceType":"Patient","multipleBirthInteger":123456789012345678901234567890}"#))
        XCTAssertNotNil(refusal(#"{"resourceType":"Patient","multipleBirthInteger":1.5}"#))
        XCTAssertNotNil(refusal(#"{"resourceType":"Patient","multipleBirthInteger":1e2}"#))
        XCTAssertNotNil(refusal(#"{"resourceType":"Patient","multipleBirthInteger":"3"}"#))
        XCTAssertEqual(refusal(#"{"resourceType":"Account","coverage":[{"priority":0}]}"#),
                       "Account.coverage.priority: 0 is not a FHIR positiveInt (a whole number from 1 to 2147483647)",
                       "inside a BackboneElement")
    }

    func testDecimalsAreFiniteNumbers() {
        XCTAssertNil(refusal(#"{"resourceType":"Coverage","status":"active","costToBeneficiary":[{"valueMoney":{"value":1.5e3,"currency":"USD"}}]}"#))
        XCTAssertEqual(refusal(#"{"resourceType":"Coverage","costToBeneficiary":[{"valueMoney":{"value":1e400}}]}"#),
                       "Money.value: 1e400 is not a FHIR decimal (a number within the range of a 64-bit float)")
    }

    func testKindsOfBooleansStringsAndObjects() {
        XCTAssertEqual(refusal(#"{"resourceType":"Patient","active":"true"}"#), "Patient.active: a string is not a JSON boolean")
        XCTAssertEqual(refusal(#"{"resourceType":"Patient","gender":1}"#), "Patient.gender: 1 is not a JSON string (FHIR code)")
        XCTAssertEqual(refusal(#"{"resourceType":"Patient","name":["Doe"]}"#), "Patient.name: a string is not a JSON object (FHIR HumanName)")
        XCTAssertEqual(refusal(#"{"resourceType":"Patient","name":[{"given":[1]}]}"#), "HumanName.given: 1 is not a JSON string (FHIR string)")
        XCTAssertNil(refusal(#"{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[]}]}]}"#),
                     "null aligns a repeating primitive with its extensions")
        XCTAssertNil(refusal(#"{"resourceType":"Patient","unknownElement":1e999}"#), "unknown elements are not judged here")
        XCTAssertEqual(refusal(#"{"resourceType":"Patient","id":42}"#), "The resource id must match [A-Za-z0-9\\-\\.]{1,64}")
        XCTAssertNoThrow(try ResourceInput.resourceObject(["resourceType": "Patient", "id": 42], idIgnored: true),
                         "a create replaces the body's id, so its kind does not matter")
    }

    func testContainedResourcesExtensionsAndReusedDefinitions() {
        XCTAssertEqual(refusal(#"{"resourceType":"Patient","contained":[{"resourceType":"Coverage","order":1.5}]}"#),
                       "Coverage.order: 1.5 is not a FHIR positiveInt (a whole number from 1 to 2147483647)")
        XCTAssertNotNil(refusal(#"{"resourceType":"Patient","contained":[{"resourceType":"Nope"}]}"#))
        XCTAssertEqual(refusal(#"{"resourceType":"Patient","extension":[{"url":"u","extension":[{"url":"v","valueInteger":99999999999}]}]}"#),
                       "Extension.valueInteger: 99999999999 is not a FHIR integer (a whole number from -2147483648 to 2147483647)")
        XCTAssertNotNil(refusal(#"{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"a","type":"group","item":[{"linkId":"b","type":"string","required":"yes"}]}]}"#))
    }
}
