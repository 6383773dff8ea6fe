import XCTest
@testable import ExportEngine

/// The background line stage: order, failures, and what `end` drops. (The export's own tests
/// run every scenario on both stages and compare the files.)
final class LineStageTests: XCTestCase {
    /// Appended to by the stage's thread; read after `drain` or `end`, which wait for it.
    final class Log: @unchecked Sendable {
        var entries: [Int] = []
    }

    struct WorkFailed: Error, Equatable { let index: Int }

    func testWorksRunInTheOrderSubmittedAcrossBatches() throws {
        let stage = BackgroundLines(batchWorks: 3, batchBytes: 100, maxBatches: 2)
        defer { stage.end() }
        let log = Log()
        for index in 0..<1000 { try stage.submit(bytes: index % 7 == 0 ? 150 : 10) { log.entries.append(index) } }
        try stage.drain()
        XCTAssertEqual(log.entries, Array(0..<1000))
        try stage.submit(bytes: 1) { log.entries.append(1000) }
        try stage.drain()
        XCTAssertEqual(log.entries.count, 1001, "the stage takes works after a drain")
    }

    func testWaitingForTheFirstWorksLeavesTheRestQueued() throws {
        let stage = BackgroundLines(batchWorks: 100, batchBytes: 1 << 20, maxBatches: 4)
        defer { stage.end() }
        let log = Log()
        for index in 0..<3 { try stage.submit(bytes: 1) { log.entries.append(index) } }
        XCTAssertEqual(stage.submitted, 3)
        try stage.flush()
        try stage.wait(forFirst: stage.submitted)
        XCTAssertEqual(log.entries, [0, 1, 2])
        try stage.submit(bytes: 1) { log.entries.append(3) }
        try stage.wait(forFirst: 3)
        XCTAssertEqual(log.entries, [0, 1, 2], "a work not handed over yet does not run")
        try stage.wait(forFirst: 4)
        XCTAssertEqual(log.entries, [0, 1, 2, 3], "waiting for a work hands it over")
    }

    func testTheFirstFailureIsThrownAndNoWorkAfterItRuns() throws {
        let stage = BackgroundLines(batchWorks: 4, batchBytes: 1 << 20, maxBatches: 2)
        defer { stage.end() }
        let log = Log()
        var thrown: Error?
        do {
            for index in 0..<200 {
                try stage.submit(bytes: 1) {
                    if index == 10 || index == 11 { throw WorkFailed(index: index) }
                    log.entries.append(index)
                }
            }
            try stage.drain()
        } catch {
            thrown = error
        }
        XCTAssertEqual(thrown as? WorkFailed, WorkFailed(index: 10))
        XCTAssertThrowsError(try stage.drain()) { XCTAssertEqual($0 as? WorkFailed, WorkFailed(index: 10)) }
        XCTAssertThrowsError(try stage.submit(bytes: 1) { log.entries.append(-1) }) { XCTAssertEqual($0 as? WorkFailed, WorkFailed(index: 10)) }
        stage.end()
        XCTAssertEqual(log.entries, Array(0..<10))
    }

    func testEndDropsTheWorksNotYetHandedOver() throws {
        let stage = BackgroundLines(batchWorks: 100, batchBytes: 1 << 20, maxBatches: 2)
        let log = Log()
        for index in 0..<10 { try stage.submit(bytes: 1) { log.entries.append(index) } }
        stage.end()
        XCTAssertEqual(log.entries, [], "a batch in the making never runs once the stage ends")
    }

    /// Records on which thread each value a work held was released.
    final class Releases: @unchecked Sendable {
        private let lock = NSLock()
        private let submitter = pthread_self()
        private(set) var held = 0
        private(set) var onSubmitter = 0
        private(set) var elsewhere = 0

        func hold() {
            lock.lock()
            held += 1
            lock.unlock()
        }

        func record() {
            let here = pthread_equal(pthread_self(), submitter) != 0
            lock.lock()
            if here { onSubmitter += 1 } else { elsewhere += 1 }
            lock.unlock()
        }
    }

    final class Held {
        let releases: Releases
        init(_ releases: Releases) {
            self.releases = releases
            releases.hold()
        }
        deinit { releases.record() }
    }

    /// What a work holds (in the export, a resource's bytes) is freed by the thread that
    /// allocated it, whether the work ran, failed or never ran.
    func testWhatWorksHoldIsReleasedOnTheSubmittingThread() throws {
        let releases = Releases()
        do {
            let stage = BackgroundLines(batchWorks: 4, batchBytes: 1 << 20, maxBatches: 2)
            for _ in 0..<100 {
                let held = Held(releases)
                try stage.submit(bytes: 1) { _ = held }
            }
            try stage.wait(forFirst: 50)
            try stage.drain()
            stage.end()
        }
        XCTAssertEqual(releases.onSubmitter, 100)
        XCTAssertEqual(releases.elsewhere, 0)
        do {
            let stage = BackgroundLines(batchWorks: 4, batchBytes: 1 << 20, maxBatches: 8)
            do {
                for index in 0..<100 {
                    let held = Held(releases)
                    try stage.submit(bytes: 1) {
                        _ = held
                        if index == 30 { throw WorkFailed(index: index) }
                    }
                }
                try stage.drain()
            } catch {}
            stage.end()
        }
        XCTAssertGreaterThan(releases.held, 131, "submitted past the failing work")
        XCTAssertEqual(releases.onSubmitter, releases.held, "after a failure too")
        XCTAssertEqual(releases.elsewhere, 0)
    }

    func testInlineLinesRunEachWorkAtOnce() throws {
        let stage = InlineLines()
        var ran: [Int] = []
        try stage.submit(bytes: 1) { ran.append(1) }
        XCTAssertEqual(ran, [1])
        XCTAssertThrowsError(try stage.submit(bytes: 1) { throw WorkFailed(index: 2) })
    }
}
