/// A JWS in compact serialization (RFC 7515 §7.1) carrying a JSON claims set (RFC 7519):
/// `base64url(header) "." base64url(payload) "." base64url(signature)`.
///
/// Decoding checks structure only; whether the signature is good is `JWK.verify(_:)`'s job
/// and which claims matter is the caller's.
public struct JWT: Sendable, Equatable {
    /// Longest token accepted, in bytes; client assertions and access tokens are a few KiB.
    public static let maximumLength = 16_384

    public let header: JSONObject
    public let payload: JSONObject
    /// The ASCII bytes that were signed: `base64url(header) "." base64url(payload)`.
    public let signingInput: [UInt8]
    /// The decoded signature (empty for `alg: none`).
    public let signature: [UInt8]

    /// The header's `alg`, if it is a string.
    public var algorithm: String? { header["alg"]?.stringValue }
    /// The header's `kid`, if it is a string.
    public var keyID: String? { header["kid"]?.stringValue }

    public static func decode(_ token: String) throws(TokenError) -> JWT {
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty else { throw TokenError("the token is empty") }
        guard bytes.count <= maximumLength else {
            throw TokenError("the token is longer than \(maximumLength) bytes")
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw TokenError("a JWT has three base64url parts separated by '.', this token has \(parts.count)")
        }
        guard let headerBytes = Base64URL.decode(String(decoding: parts[0], as: UTF8.self)) else {
            throw TokenError("the JWT header is not base64url")
        }
        guard let payloadBytes = Base64URL.decode(String(decoding: parts[1], as: UTF8.self)) else {
            throw TokenError("the JWT payload is not base64url")
        }
        guard let signature = Base64URL.decode(String(decoding: parts[2], as: UTF8.self)) else {
            throw TokenError("the JWT signature is not base64url")
        }
        let header = try object(headerBytes, part: "header")
        let payload = try object(payloadBytes, part: "payload")
        guard header["alg"]?.stringValue != nil else {
            throw TokenError("the JWT header has no \"alg\" string")
        }
        // RFC 7515 §4.1.11: extensions listed in "crit" must be understood; we understand none.
        if header["crit"] != nil {
            throw TokenError("the JWT header lists critical extensions (\"crit\"), none of which are supported")
        }
        let signingInput = Array(bytes[..<(parts[0].count + 1 + parts[1].count)])
        return JWT(header: header, payload: payload, signingInput: signingInput, signature: signature)
    }

    private static func object(_ bytes: [UInt8], part: String) throws(TokenError) -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw TokenError("the JWT \(part) is not valid JSON: \(error.message)")
        }
        guard case .object(let object) = value else {
            throw TokenError("the JWT \(part) is not a JSON object")
        }
        return object
    }
}

extension JWT {
    /// A NumericDate claim (RFC 7519 §2: seconds since the epoch, possibly fractional) as
    /// whole seconds, rounded down; `nil` when absent, not a number, or absurdly large.
    func numericDate(_ claim: String) -> Int64? {
        guard let value = payload[claim] else { return nil }
        if let integer = value.intValue {
            return (-999_999_999_999...999_999_999_999).contains(integer) ? Int64(integer) : nil
        }
        guard let double = value.doubleValue, double.isFinite, abs(double) < 1e12 else { return nil }
        return Int64(double.rounded(.down))
    }

    /// Whether the `aud` claim is `audience` or an array containing it (RFC 7519 §4.1.3).
    func hasAudience(_ audience: String) -> Bool {
        switch payload["aud"] {
        case .string(let value)?: return value == audience
        case .array(let values)?: return values.contains(.string(audience))
        default: return false
        }
    }

    func stringClaim(_ claim: String) -> String? { payload[claim]?.stringValue }
}

/// RFC 7519 NumericDate ⇄ `FHIRInstant`.
enum NumericDate {
    /// The instant `seconds` after the Unix epoch.
    static func instant(_ seconds: Int64) -> FHIRInstant {
        FHIRInstant(millisecondsSinceEpoch: seconds * 1000)
    }

    /// Whole seconds since the Unix epoch, rounded down.
    static func seconds(_ instant: FHIRInstant) -> Int64 {
        let (quotient, remainder) = instant.millisecondsSinceEpoch.quotientAndRemainder(dividingBy: 1000)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
