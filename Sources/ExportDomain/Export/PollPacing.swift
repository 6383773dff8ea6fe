/// Bulk Data: a server may answer 429 to a client that polls `$exportstatus` faster than the
/// `Retry-After` it was given. A few early polls in a row are tolerated (clients differ in how
/// they round), then each early one is refused until the advertised time has passed.
public struct PollPacing: Sendable {
    public enum Decision: Sendable, Equatable {
        case answer
        /// Refuse with 429 and this `Retry-After`.
        case tooSoon(retryAfterSeconds: Int)
    }

    struct Pace: Sendable {
        /// When the next poll is due (ms since the epoch).
        var dueAt: Int64
        var answeredAt: Int64
        var earlyInARow: Int
    }

    private var paces: [String: Pace] = [:]
    /// Tasks tracked at once before idle ones are forgotten (memory stays bounded whatever
    /// clients do; forgetting a task only forgives its early polls).
    let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// A poll of a task that is still queued or running, to be answered with `retryAfterSeconds`.
    public mutating func poll(taskId: String, now: FHIRInstant, retryAfterSeconds: Int, earlyPollsAllowed: Int) -> Decision {
        let now = now.millisecondsSinceEpoch
        let interval = Int64(retryAfterSeconds) * 1000
        var pace = paces[taskId] ?? Pace(dueAt: now, answeredAt: now, earlyInARow: 0)
        // A clock that stepped back makes every poll look early: start afresh instead.
        if now < pace.answeredAt { pace = Pace(dueAt: now, answeredAt: now, earlyInARow: 0) }
        if now < pace.dueAt - interval / 4 {
            pace.earlyInARow += 1
            if pace.earlyInARow > earlyPollsAllowed {
                paces[taskId] = pace
                let wait = (pace.dueAt - now + 999) / 1000
                return .tooSoon(retryAfterSeconds: Int(max(1, min(Int64(retryAfterSeconds), wait))))
            }
        } else {
            pace.earlyInARow = 0
        }
        pace.answeredAt = now
        pace.dueAt = now + interval
        remember(taskId, pace, now: now)
        return .answer
    }

    /// The task answered something final (manifest, error): nothing more to pace.
    public mutating func finished(taskId: String) {
        paces[taskId] = nil
    }

    private mutating func remember(_ taskId: String, _ pace: Pace, now: Int64) {
        if paces[taskId] == nil && paces.count >= capacity {
            let idleSince = now - 10 * 60 * 1000
            paces = paces.filter { $0.value.answeredAt >= idleSince }
            if paces.count >= capacity { paces.removeAll(keepingCapacity: true) }
        }
        paces[taskId] = pace
    }

    public var trackedTasks: Int { paces.count }
}
