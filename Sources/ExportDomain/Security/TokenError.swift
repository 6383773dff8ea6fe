/// Why a JWT, a JWK or a key could not be used. `message` is meant for people (logs, the
/// `error_description` of an OAuth error, the diagnostics of a 401 OperationOutcome); it never
/// contains the token itself.
public struct TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
