import ExportDomain
import XCTest
@testable import FHIRService

/// A complete task's status answer is rendered once per task and second, and again in the next.
final class RenderedManifestsTests: XCTestCase {
    func testOneRenderingPerTaskAndSecond() {
        let cache = RenderedManifests(capacity: 3)
        var renderings: [String] = []
        func poll(_ task: String, _ milliseconds: Int64) -> String {
            let body = cache.body(taskId: task, now: FHIRInstant(millisecondsSinceEpoch: milliseconds)) {
                renderings.append("\(task)@\(milliseconds)")
                return Array("\(task)@\(milliseconds)".utf8)
            }
            return String(decoding: body, as: UTF8.self)
        }
        XCTAssertEqual(poll("a", 1_000), "a@1000")
        XCTAssertEqual(poll("a", 1_999), "a@1000", "the same second: the same signed URLs")
        XCTAssertEqual(poll("b", 1_500), "b@1500", "another task")
        XCTAssertEqual(poll("a", 2_000), "a@2000", "the next second signs afresh")
        XCTAssertEqual(poll("c", 2_001), "c@2001")
        XCTAssertEqual(poll("a", 2_500), "a@2500", "the full cache was emptied for c: rendered again")
        XCTAssertEqual(renderings, ["a@1000", "b@1500", "a@2000", "c@2001", "a@2500"])
    }
}
