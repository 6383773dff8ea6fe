import XCTest
@testable import FHIRService

/// What a client sends never writes a log line of its own, and long values are cut.
final class RequestLogTests: XCTestCase {
    func testPrintableKeepsPlainTextAndNeutralisesControlsAndQuotes() {
        XCTAssertEqual(FHIRService.printable("/fhir/$exportstatus", limit: 300), "/fhir/$exportstatus")
        XCTAssertEqual(FHIRService.printable("a\"b\nc\u{7F}d\te", limit: 300), "a?b?c?d?e")
        XCTAssertEqual(FHIRService.printable("abcdef", limit: 6), "abcdef")
        XCTAssertEqual(FHIRService.printable("abcdefg", limit: 6), "abcdef…")
        XCTAssertEqual(FHIRService.printable("é\u{1}ü", limit: 300), "é?ü", "non-ASCII is kept, controls replaced")
        XCTAssertEqual(FHIRService.printable("ééé", limit: 2), "éé…", "the limit counts characters, not bytes")
    }
}
