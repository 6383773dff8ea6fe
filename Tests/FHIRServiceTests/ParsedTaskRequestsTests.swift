import ExportDomain
import XCTest
@testable import FHIRService

/// A task's stored request is kept parsed, never answered stale when the stored text differs,
/// and within the cache's bounds.
final class ParsedTaskRequestsTests: XCTestCase {
    private func stored(_ groupId: String) -> [UInt8] {
        ExportRequest(groupId: groupId).toJSON().serialized()
    }

    func testAnswersTheStoredTextNeverAStaleOne() throws {
        let cache = ParsedTaskRequests(capacity: 2)
        XCTAssertEqual(try cache.request(taskId: "t1", text: stored("g1")).groupId, "g1")
        XCTAssertEqual(cache.heldBytes, stored("g1").count, "kept")
        XCTAssertEqual(try cache.request(taskId: "t1", text: stored("g1")).groupId, "g1")
        XCTAssertEqual(try cache.request(taskId: "t1", text: stored("g2")).groupId, "g2",
                       "another text under the same task id is parsed, never answered from the cache")
        XCTAssertEqual(try cache.request(taskId: "t2", text: stored("g3")).groupId, "g3")
        XCTAssertEqual(cache.heldBytes, stored("g2").count + stored("g3").count, "g1's text was replaced by g2's")
        XCTAssertEqual(try cache.request(taskId: "t3", text: stored("g4")).groupId, "g4")
        XCTAssertEqual(cache.heldBytes, stored("g4").count, "a full cache is emptied")
        XCTAssertEqual(try cache.request(taskId: "t1", text: stored("g2")).groupId, "g2")
    }

    func testByteBudgetBoundsWhatIsKept() throws {
        let small = stored("g1"), big = ExportRequest(groupId: "g2", patients: (0..<50).map { "Patient/p\($0)" }).toJSON().serialized()
        let cache = ParsedTaskRequests(capacity: 100, byteBudget: small.count * 2)
        XCTAssertGreaterThan(big.count, small.count * 2)
        XCTAssertEqual(try cache.request(taskId: "t1", text: small).groupId, "g1")
        XCTAssertEqual(cache.heldBytes, small.count)
        XCTAssertEqual(try cache.request(taskId: "t2", text: big).patients.count, 50, "over the budget: parsed, not kept")
        XCTAssertEqual(cache.heldBytes, small.count)
        XCTAssertEqual(try cache.request(taskId: "t1", text: small).groupId, "g1", "still kept")
        XCTAssertEqual(cache.heldBytes, small.count)
        _ = try cache.request(taskId: "t3", text: small)
        XCTAssertEqual(cache.heldBytes, small.count * 2)
        _ = try cache.request(taskId: "t4", text: small)
        XCTAssertEqual(cache.heldBytes, small.count, "the budget would be exceeded: emptied first")
    }

    func testUnreadableTextThrowsAndIsNotKept() {
        let cache = ParsedTaskRequests()
        XCTAssertThrowsError(try cache.request(taskId: "t1", text: Array("{".utf8)))
        XCTAssertThrowsError(try cache.request(taskId: "t1", text: Array("{".utf8)))
        XCTAssertEqual(cache.heldBytes, 0)
    }
}
