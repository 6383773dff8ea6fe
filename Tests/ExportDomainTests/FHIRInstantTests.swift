import XCTest
@testable import ExportDomain

final class FHIRInstantTests: XCTestCase {
    func testFormatsUTCWithMilliseconds() {
        XCTAssertEqual(FHIRInstant(millisecondsSinceEpoch: 0).description, "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123).description, "2026-11-26T15:55:04.123Z")
        XCTAssertEqual(FHIRInstant(millisecondsSinceEpoch: 951_782_400_000).description, "2000-02-29T00:00:00.000Z")
    }

    func testHTTPDate() {
        XCTAssertEqual(FHIRInstant(millisecondsSinceEpoch: 784_111_777_000).httpDate, "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    func testParsesInstantsWithZones() {
        XCTAssertEqual(FHIRInstant.parseInstant("2026-11-26T15:55:04.123Z")?.millisecondsSinceEpoch, 1_795_708_504_123)
        XCTAssertEqual(FHIRInstant.parseInstant("2026-11-26T17:55:04.123+02:00")?.millisecondsSinceEpoch, 1_795_708_504_123)
        XCTAssertEqual(FHIRInstant.parseInstant("2026-11-26T15:55:04Z")?.millisecondsSinceEpoch, 1_795_708_504_000)
        XCTAssertEqual(FHIRInstant.parseInstant("2026-11-26T15:55:04.1234567Z")?.millisecondsSinceEpoch, 1_795_708_504_123)
    }

    func testRejectsInvalidInstants() {
        for text in ["", "2026", "2026-11-26", "2026-11-26T15:55:04", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                     "2026-11-26T24:00:00Z", "2026-11-26T15:55:04.Z", "2026-11-26T15:55:04+0200", "2026-11-26 15:55:04Z",
                     "2026-11-26T15:55:04Zjunk"] {
            XCTAssertNil(FHIRInstant.parseInstant(text), text)
        }
    }

    func testPartialDatesAndTheirEnds() {
        XCTAssertEqual(FHIRInstant.parseDateTime("2025")?.description, "2025-01-01T00:00:00.000Z")
        XCTAssertEqual(FHIRInstant.parseDateTimeEnd("2025")?.description, "2026-01-01T00:00:00.000Z")
        XCTAssertEqual(FHIRInstant.parseDateTimeEnd("2025-12")?.description, "2026-01-01T00:00:00.000Z")
        XCTAssertEqual(FHIRInstant.parseDateTimeEnd("2025-02")?.description, "2025-03-01T00:00:00.000Z")
        XCTAssertEqual(FHIRInstant.parseDateTimeEnd("2025-02-28")?.description, "2025-03-01T00:00:00.000Z")
    }

    func testTextOrderIsTimeOrder() {
        let earlier = FHIRInstant(millisecondsSinceEpoch: 999).description
        let later = FHIRInstant(millisecondsSinceEpoch: 1000).description
        XCTAssertLessThan(earlier, later)
    }
}
