/// A SMART Backend Services access token request (RFC 6749 §4.4 with an RFC 7523 client
/// assertion): `POST /auth/token`, `application/x-www-form-urlencoded`.
public struct TokenRequest: Sendable, Equatable {
    public static let clientCredentials = "client_credentials"
    public static let jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    public var grantType: String
    public var clientAssertionType: String
    public var clientAssertion: String
    /// The requested scopes, space-separated as sent.
    public var scope: String
    /// The optional `client_id` parameter; when present it must name the assertion's client
    /// (RFC 7521 §4.2), which `ClientAssertionValidator` checks when given it.
    public var clientId: String?

    public init(
        grantType: String = TokenRequest.clientCredentials,
        clientAssertionType: String = TokenRequest.jwtBearerAssertionType,
        clientAssertion: String, scope: String, clientId: String? = nil
    ) {
        self.grantType = grantType
        self.clientAssertionType = clientAssertionType
        self.clientAssertion = clientAssertion
        self.scope = scope
        self.clientId = clientId
    }

    /// Parses and checks the form. Missing or repeated parameters and any other media type
    /// (e.g. a JSON body) → `invalid_request`; a grant other than `client_credentials` →
    /// `unsupported_grant_type`; another assertion type → `invalid_request`; no or an empty
    /// `scope` → `invalid_scope` (RFC 6749 §3.3: without a default scope the request fails).
    public static func parse(formBody: [UInt8], contentType: String?) throws(OAuthError) -> TokenRequest {
        guard let contentType, FormURLEncoding.isFormMediaType(contentType) else {
            throw .invalidRequest(
                "the token request must be sent as application/x-www-form-urlencoded"
                    + (contentType.map { ", not \($0)" } ?? ""))
        }
        let pairs: [(String, String)]
        do {
            pairs = try FormURLEncoding.decode(formBody)
        } catch {
            throw .invalidRequest("the form body is malformed: \(error.message)")
        }
        var fields: [String: String] = [:]
        for (name, value) in pairs {
            // RFC 6749 §3.2: parameters must not be included more than once.
            guard fields.updateValue(value, forKey: name) == nil else {
                throw .invalidRequest("the parameter '\(name)' is repeated")
            }
        }

        guard let grantType = fields["grant_type"], !grantType.isEmpty else {
            throw .invalidRequest("grant_type is missing")
        }
        guard grantType == clientCredentials else {
            throw .unsupportedGrantType("grant_type '\(grantType)' is not supported; use client_credentials")
        }
        guard let assertionType = fields["client_assertion_type"], !assertionType.isEmpty else {
            throw .invalidRequest("client_assertion_type is missing")
        }
        guard assertionType == jwtBearerAssertionType else {
            throw .invalidRequest(
                "client_assertion_type '\(assertionType)' is not supported; use \(jwtBearerAssertionType)")
        }
        guard let assertion = fields["client_assertion"], !assertion.isEmpty else {
            throw .invalidRequest("client_assertion is missing")
        }
        guard let scope = fields["scope"], scope.contains(where: { $0 != " " }) else {
            throw .invalidScope("no scope was requested")
        }
        let clientId = fields["client_id"]
        return TokenRequest(
            grantType: grantType, clientAssertionType: assertionType, clientAssertion: assertion, scope: scope,
            clientId: clientId?.isEmpty == true ? nil : clientId)
    }
}

/// `application/x-www-form-urlencoded` (WHATWG URL §5.1) for the token endpoint.
public enum FormURLEncoding {
    public struct DecodingError: Error, Sendable, Equatable {
        public let message: String
    }

    /// Whether `contentType` is `application/x-www-form-urlencoded`, parameters (such as
    /// `charset=UTF-8`) aside; case-insensitive.
    public static func isFormMediaType(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = mediaType.firstIndex(where: { !isSpace($0) }),
              let last = mediaType.lastIndex(where: { !isSpace($0) }) else { return false }
        return mediaType[first...last].lowercased() == "application/x-www-form-urlencoded"
    }

    /// The name/value pairs in order: `&`-separated, split at the first `=`, `+` = space,
    /// `%XX` escapes; empty segments are skipped. A bad escape or invalid UTF-8 is an error.
    public static func decode(_ body: [UInt8]) throws(DecodingError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for segment in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let name: ArraySlice<UInt8>
            let value: ArraySlice<UInt8>
            if let equals = segment.firstIndex(of: UInt8(ascii: "=")) {
                name = segment[..<equals]
                value = segment[(equals + 1)...]
            } else {
                name = segment
                value = []
            }
            pairs.append((try decodeComponent(name), try decodeComponent(value)))
        }
        return pairs
    }

    static func decodeComponent(_ bytes: ArraySlice<UInt8>) throws(DecodingError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
                index += 1
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]),
                      let low = hexValue(bytes[index + 2]) else {
                    throw DecodingError(message: "a '%' is not followed by two hexadecimal digits")
                }
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: output, as: UTF8.self) else {
            throw DecodingError(message: "a parameter is not valid UTF-8")
        }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension TokenRequest {
    /// The client a refused token request claims to be, for the audit trail: its `client_id`
    /// parameter, else the `iss` of its client assertion read without verifying it. Never the
    /// assertion itself.
    public static func claimedClient(formBody: [UInt8]) -> String? {
        guard let pairs = try? FormURLEncoding.decode(formBody) else { return nil }
        if let clientId = pairs.first(where: { $0.0 == "client_id" })?.1, !clientId.isEmpty { return clientId }
        guard let assertion = pairs.first(where: { $0.0 == "client_assertion" })?.1,
              let jwt = try? JWT.decode(assertion) else { return nil }
        return jwt.stringClaim("iss")
    }
}
