import ExportDomain

/// The status answers of complete tasks, rendered once per task and second. A manifest's URLs
/// are signed afresh for each poll, but their expiry counts in whole seconds, so every poll of
/// a task within one second gets the same bytes: under load, parsing the stored manifest and
/// signing its URLs (a seventh of a poll's cost) happens once per second, not per poll. One
/// per FHIRService, that is per worker thread: no lock.
final class RenderedManifests {
    private struct Key: Hashable {
        var taskId: String
        var second: Int64
    }

    private var bodies: [Key: [UInt8]] = [:]
    private let capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
    }

    func body(taskId: String, now: FHIRInstant, render: () throws -> [UInt8]) rethrows -> [UInt8] {
        let key = Key(taskId: taskId, second: now.millisecondsSinceEpoch / 1000)
        if let body = bodies[key] { return body }
        let body = try render()
        // Entries of past seconds are never asked for again: dropping all at once is enough.
        if bodies.count >= capacity { bodies.removeAll(keepingCapacity: true) }
        bodies[key] = body
        return body
    }
}
