import ExportDomain
import Foundation

public enum SystemClock {
    private static let clock = NonDecreasingClock { FHIRInstant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) }

    @Sendable public static func now() -> FHIRInstant {
        clock.now()
    }
}

/// The wall clock as a process goes by it: never earlier than a time it has answered before.
/// When the system clock is stepped back (an NTP correction, an operator), whatever a check
/// found expired — an access token, a lease, a signed link's expiry — stays expired, because
/// every later check uses a time no earlier than that one.
public final class NonDecreasingClock: @unchecked Sendable {
    private let wall: @Sendable () -> FHIRInstant
    private let lock = NSLock()
    private var latest = Int64.min

    public init(wall: @escaping @Sendable () -> FHIRInstant) {
        self.wall = wall
    }

    public func now() -> FHIRInstant {
        let reading = wall().millisecondsSinceEpoch
        return FHIRInstant(millisecondsSinceEpoch: lock.withLock {
            latest = max(latest, reading)
            return latest
        })
    }
}

public enum SystemRandom {
    /// A lowercase random (version 4) UUID, used as a server-assigned id.
    public static func uuid() -> String {
        UUID().uuidString.lowercased()
    }
}
