import ExportDomain
import XCTest

final class PollPacingTests: XCTestCase {
    private func at(_ milliseconds: Int64) -> FHIRInstant { FHIRInstant(millisecondsSinceEpoch: 1_000_000 + milliseconds) }

    func testEarlyPollsBeyondTheGraceWaitForTheRestOfTheInterval() {
        var pacing = PollPacing()
        XCTAssertEqual(pacing.poll(taskId: "t", now: at(0), retryAfterSeconds: 5, earlyPollsAllowed: 0), .answer)
        XCTAssertEqual(pacing.poll(taskId: "t", now: at(1000), retryAfterSeconds: 5, earlyPollsAllowed: 0), .tooSoon(retryAfterSeconds: 4))
        XCTAssertEqual(pacing.poll(taskId: "t", now: at(4000), retryAfterSeconds: 5, earlyPollsAllowed: 0), .answer,
                       "within a quarter of the interval counts as on time")
        XCTAssertEqual(pacing.poll(taskId: "other", now: at(4001), retryAfterSeconds: 5, earlyPollsAllowed: 0), .answer, "per task")
    }

    func testAClockSteppingBackNeverMakesAClientWaitLongerThanRetryAfter() {
        var pacing = PollPacing()
        XCTAssertEqual(pacing.poll(taskId: "t", now: at(3_600_000), retryAfterSeconds: 2, earlyPollsAllowed: 0), .answer)
        XCTAssertEqual(pacing.poll(taskId: "t", now: at(0), retryAfterSeconds: 2, earlyPollsAllowed: 0), .answer,
                       "an hour back: started afresh, not an hour's wait")
        XCTAssertEqual(pacing.poll(taskId: "t", now: at(100), retryAfterSeconds: 2, earlyPollsAllowed: 0), .tooSoon(retryAfterSeconds: 2))
    }

    func testFinishedTasksAndIdleOnesAreForgotten() {
        var pacing = PollPacing(capacity: 3)
        for task in ["a", "b", "c"] { _ = pacing.poll(taskId: task, now: at(0), retryAfterSeconds: 1, earlyPollsAllowed: 0) }
        pacing.finished(taskId: "a")
        XCTAssertEqual(pacing.trackedTasks, 2)
        _ = pacing.poll(taskId: "d", now: at(1), retryAfterSeconds: 1, earlyPollsAllowed: 0)
        _ = pacing.poll(taskId: "e", now: at(11 * 60 * 1000), retryAfterSeconds: 1, earlyPollsAllowed: 0)
        XCTAssertEqual(pacing.trackedTasks, 1, "past capacity, tasks idle for ten minutes are dropped")
    }
}
