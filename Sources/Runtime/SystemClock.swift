import ExportDomain
import Foundation

public enum SystemClock {
    @Sendable public static func now() -> FHIRInstant {
        FHIRInstant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

public enum SystemRandom {
    /// A lowercase random (version 4) UUID, used as a server-assigned id.
    public static func uuid() -> String {
        UUID().uuidString.lowercased()
    }
}
