import ExportDomain
import XCTest

final class JSONBodyLimitsTests: XCTestCase {
    private let limits = JSONBodyLimits(maxDepth: 3, maxElements: 6)

    private func refusal(_ text: String) -> String? {
        do {
            try limits.check(Array(text.utf8))
            return nil
        } catch {
            XCTAssertEqual(error.status, 413)
            return error.diagnostics
        }
    }

    func testDepthCountsObjectsAndArraysButNotBracketsInStrings() {
        XCTAssertNil(refusal(#"{"a":[{"b":"[[[[{{{{"}]}"#))
        XCTAssertEqual(refusal(#"{"a":[{"b":[]}]}"#), "The JSON body nests objects and arrays deeper than 3 levels (RequestJsonLimits.MaxDepth)")
        XCTAssertNil(refusal(#"[[[]],[[]]]"#), "siblings do not add up to depth")
    }

    func testElementsCountValuesNotMemberNames() {
        // object, 1, "x", true, null, array = 6 values; five member names are free.
        XCTAssertNil(refusal(#"{"a":1,"b":"x","c":true,"d":null,"e":[]}"#))
        XCTAssertEqual(refusal(#"{"a":1,"b":"x","c":true,"d":null,"e":[-1.5e3]}"#),
                       "The JSON body has more than 6 values (RequestJsonLimits.MaxElements)")
        XCTAssertNil(refusal(#"{"a\"b":"c\\","d":"{\"e\":1}"}"#), "escaped quotes do not end strings")
        XCTAssertEqual(refusal("[1,2,3,4,5,6]"), "The JSON body has more than 6 values (RequestJsonLimits.MaxElements)")
        XCTAssertNil(refusal("[12345,678,9,10,11]"), "a number counts once, whatever its length")
    }

    func testBodiesThatAreNotJSONContainersAreLeftToTheirParsers() {
        XCTAssertNil(refusal(""))
        XCTAssertNil(refusal("grant_type=client_credentials&scope=[[[[[[[["))
        XCTAssertNil(refusal("\"[[[[[[[[[[\""))
        XCTAssertNotNil(refusal(" \n\t[[[[[]]]]]"), "leading whitespace does not hide a body")
    }
}
