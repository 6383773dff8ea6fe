// JSONSyntaxError.swift

/// A JSON input was rejected. `offset` is the zero-based byte offset into the input
/// (UTF-8 bytes for `String` input) at which the problem was detected.
public struct JSONSyntaxError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Zero-based byte offset into the input.
    public let offset: Int
    /// Human-readable reason, e.g. `expected ':' after object key`.
    public let message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    /// `invalid JSON at byte 17: expected ':' after object key`
    public var description: String {
        "invalid JSON at byte \(offset): \(message)"
    }
}
