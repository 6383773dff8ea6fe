import Foundation

/// Where the export's per-resource work runs — finishing and writing resource lines
/// (`_elements`, redaction, the file write), reading a slice's member elements, finding the
/// references to follow — one work after another in the order submitted, so the files are the
/// same whichever stage runs them.
protocol LineStage: AnyObject {
    /// Queues `work` (holding about `bytes` bytes); throws the first error an earlier work threw.
    func submit(bytes: Int, _ work: @escaping () throws -> Void) throws
    /// Lets the works submitted so far start without waiting for them (the batch in the making
    /// is handed over); throws the first error an earlier work threw.
    func flush() throws
    /// Returns once every submitted work has run; throws the first error one threw.
    func drain() throws
    /// How many works have been submitted.
    var submitted: Int { get }
    /// Returns once the first `count` works submitted have run (handing them over if they are
    /// still in the batch in the making); throws the first error one threw.
    func wait(forFirst count: Int) throws
    /// Drops what has not run yet, waits for the work running now, and ends the stage.
    func end()
}

/// Runs each work at once, on the caller's thread.
final class InlineLines: LineStage {
    private(set) var submitted = 0

    func submit(bytes: Int, _ work: @escaping () throws -> Void) throws {
        submitted += 1
        try work()
    }

    func flush() throws {}
    func drain() throws {}
    func wait(forFirst count: Int) throws {}
    func end() {}
}

/// Runs the works on a thread of its own, so that they overlap the export's database reads (on
/// two cores the export's work splits about evenly between the two threads). Works are handed
/// over in batches, to take the lock once per batch, and at most `maxBatches` wait: memory holds
/// a few MB of lines, whatever the export's size.
final class BackgroundLines: LineStage, @unchecked Sendable {
    typealias Work = () throws -> Void

    private let condition = NSCondition()
    private let batchBytes: Int
    private let batchWorks: Int
    private let maxBatches: Int
    // The submitting thread's batch in the making (touched by it alone).
    private var pending: [Work] = []
    private var pendingBytes = 0
    private(set) var submitted = 0
    // Shared, under `condition`.
    private var queued: [[Work]] = []
    /// Batches run, for the submitting thread to release: what a work holds (a resource's
    /// bytes) was allocated there, and freeing it on the stage's thread took the lock of that
    /// thread's malloc arena while the submitter allocated (80,000 waits on it in a 1M export).
    private var finished: [[Work]] = []
    /// Works run, counted a batch at a time.
    private var completed = 0
    /// What the submitting thread waits for, so the stage wakes it only for that.
    private var awaitedCompletion = Int.max
    private var awaitingSpace = false
    private var ending = false
    private var ended = false
    private var failure: Error?

    init(batchWorks: Int = 64, batchBytes: Int = 1 << 18, maxBatches: Int = 32) {
        self.batchWorks = max(1, batchWorks)
        self.batchBytes = max(1, batchBytes)
        self.maxBatches = max(1, maxBatches)
        pending.reserveCapacity(self.batchWorks)
        let thread = Thread { [self] in workLoop() }
        // The redactor and FHIRPath recurse, as on the scheduler's own threads.
        thread.stackSize = 8 << 20
        thread.start()
    }

    func submit(bytes: Int, _ work: @escaping Work) throws {
        pending.append(work)
        pendingBytes += bytes
        submitted += 1
        if pending.count >= batchWorks || pendingBytes >= batchBytes { try handOver() }
    }

    func flush() throws { try handOver() }

    func drain() throws {
        try handOver()
        try wait(forFirst: submitted)
    }

    func wait(forFirst count: Int) throws {
        precondition(count <= submitted, "waiting for works never submitted")
        if count > submitted - pending.count { try handOver() }
        condition.lock()
        awaitedCompletion = count
        while failure == nil && completed < count { condition.wait() }
        awaitedCompletion = Int.max
        let result = failure
        var done = takeFinished()
        condition.unlock()
        done.removeAll()
        if let result { throw result }
    }

    func end() {
        pending.removeAll()
        condition.lock()
        queued.removeAll()
        ending = true
        condition.broadcast()
        while !ended { condition.wait() }
        var done = takeFinished()
        condition.unlock()
        done.removeAll()
    }

    private func handOver() throws {
        condition.lock()
        while failure == nil && queued.count >= maxBatches {
            awaitingSpace = true
            condition.wait()
        }
        awaitingSpace = false
        let result = failure
        if result == nil && !pending.isEmpty {
            queued.append(pending)
            condition.broadcast()
        }
        var done = takeFinished()
        condition.unlock()
        // Released here, outside the lock, on the thread that allocated what they hold.
        done.removeAll()
        if let result { throw result }
        pending = []
        pending.reserveCapacity(batchWorks)
        pendingBytes = 0
    }

    /// The batches run since the last call (under `condition`).
    private func takeFinished() -> [[Work]] {
        var done: [[Work]] = []
        swap(&done, &finished)
        return done
    }

    private func workLoop() {
        condition.lock()
        while true {
            while queued.isEmpty && !ending { condition.wait() }
            if queued.isEmpty { break }
            let batch = queued.removeFirst()
            if awaitingSpace { condition.broadcast() }
            // Handed over after a failure, before the submitter saw it: never run.
            if failure != nil {
                finished.append(batch)
                continue
            }
            condition.unlock()
            var thrown: Error?
            for work in batch {
                do { try work() } catch { thrown = error; break }
            }
            condition.lock()
            completed += batch.count
            finished.append(batch)
            if let thrown {
                // Nothing after a failed work may reach the files: the export ends with its error.
                failure = failure ?? thrown
                finished += queued
                queued.removeAll()
            }
            if failure != nil || completed >= awaitedCompletion { condition.broadcast() }
        }
        ended = true
        condition.broadcast()
        condition.unlock()
    }
}
