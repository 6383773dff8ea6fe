import ExportDomain
import XCTest
@testable import FHIRService

/// A task's stored request is parsed once, and again whenever the stored text differs.
final class ParsedTaskRequestsTests: XCTestCase {
    private func stored(_ groupId: String) -> [UInt8] {
        ExportRequest(groupId: groupId).toJSON().serialized()
    }

    func testParsedOncePerTextAndTask() throws {
        let cache = ParsedTaskRequests(capacity: 2)
        XCTAssertEqual(try cache.request(taskId: "t1", text: stored("g1")).groupId, "g1")
        XCTAssertEqual(try cache.request(taskId: "t1", text: stored("g1")).groupId, "g1")
        XCTAssertEqual(try cache.request(taskId: "t1", text: stored("g2")).groupId, "g2",
                       "another text under the same task id is parsed, never answered from the cache")
        XCTAssertEqual(try cache.request(taskId: "t2", text: stored("g3")).groupId, "g3")
        XCTAssertEqual(try cache.request(taskId: "t3", text: stored("g4")).groupId, "g4", "a full cache is emptied")
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
    }
}
