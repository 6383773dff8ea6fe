import Crypto
import _CryptoExtras

/// A public signing key as an RFC 7517 JSON Web Key, limited to what SMART Backend Services
/// uses: EC P-384 (`ES384`) and RSA of 2048 bits or more (`RS384`).
///
/// Parsing validates the key with swift-crypto (a point on the curve, an RSA modulus of a
/// usable size). Private members (`d`, `p`, `q`, …) are never read: only the public key is kept.
public struct JWK: Sendable {
    public enum KeyType: String, Sendable, Equatable {
        /// `kty` `EC`, `crv` `P-384`.
        case ecP384 = "EC"
        /// `kty` `RSA`.
        case rsa = "RSA"

        /// The JWS algorithm this project accepts for the key type.
        public var algorithm: String {
            switch self {
            case .ecP384: return "ES384"
            case .rsa: return "RS384"
            }
        }
    }

    private enum PublicKey: Sendable {
        case p384(P384.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey)
    }

    public let keyType: KeyType
    public let kid: String?
    public let alg: String?
    public let use: String?
    /// Whether the JSON this key was read from also held private key members; they were ignored.
    public let containsPrivateKey: Bool
    /// RFC 7638 JWK thumbprint: base64url(SHA-256(canonical JSON of the required members)).
    public let thumbprint: String
    /// The required public members (`crv`, `x`, `y` or `n`, `e`), base64url, in RFC 7638 order.
    private let members: [(String, String)]
    private let key: PublicKey

    /// The JWS algorithms `verify(_:)` accepts.

    // MARK: Reading

    /// Reads an RFC 7517 JWK object.
    public init(json: JSONValue) throws(TokenError) {
        guard case .object(let object) = json else { throw TokenError("a JWK is a JSON object") }
        func string(_ name: String) throws(TokenError) -> String? {
            guard let value = object[name] else { return nil }
            guard case .string(let text) = value else { throw TokenError("the JWK member \"\(name)\" is not a string") }
            return text
        }
        func bytes(_ name: String) throws(TokenError) -> [UInt8] {
            guard let text = try string(name) else { throw TokenError("the JWK has no \"\(name)\"") }
            guard let decoded = Base64URL.decode(text), !decoded.isEmpty else {
                throw TokenError("the JWK member \"\(name)\" is not base64url")
            }
            return decoded
        }

        if let operations = object["key_ops"] {
            // A public key is for "verify"; a private JWK registered by mistake says "sign".
            guard case .array(let list) = operations,
                  list.contains(.string("verify")) || list.contains(.string("sign")) else {
                throw TokenError("the JWK's \"key_ops\" do not allow verifying signatures")
            }
        }
        let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
        let hasPrivateMembers = privateMembers.contains { object[$0] != nil }
        let kid = try string("kid")
        let alg = try string("alg")
        let use = try string("use")
        switch try string("kty") {
        case "EC"?:
            let curve = try string("crv")
            guard curve == "P-384" else {
                throw TokenError("EC keys on curve \(curve.map { "'\($0)'" } ?? "(none)") are not supported, only P-384")
            }
            let x = try bytes("x"), y = try bytes("y")
            guard x.count == 48, y.count == 48 else {
                throw TokenError("a P-384 JWK has 48-byte \"x\" and \"y\" coordinates")
            }
            let publicKey: P384.Signing.PublicKey
            do {
                publicKey = try P384.Signing.PublicKey(rawRepresentation: x + y)
            } catch {
                throw TokenError("the JWK's \"x\" and \"y\" are not a point on P-384")
            }
            try self.init(p384: publicKey, kid: kid, alg: alg, use: use, containsPrivateKey: hasPrivateMembers)
        case "RSA"?:
            let n = Self.withoutLeadingZeros(try bytes("n")), e = Self.withoutLeadingZeros(try bytes("e"))
            let publicKey: _RSA.Signing.PublicKey
            do {
                publicKey = try _RSA.Signing.PublicKey(n: n, e: e)
            } catch {
                throw TokenError("the JWK's \"n\" and \"e\" are not an RSA public key of 2048 bits or more")
            }
            try self.init(
                rsa: publicKey, n: n, e: e, kid: kid, alg: alg, use: use, containsPrivateKey: hasPrivateMembers)
        case let other?:
            throw TokenError("JWK key type '\(other)' is not supported, only EC P-384 and RSA")
        case nil:
            throw TokenError("the JWK has no \"kty\"")
        }
    }

    /// Reads a PEM public key (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo) for P-384 or
    /// RSA (2048 bits or more), e.g. the public half of a key smart-fetch signs with.
    /// A private key is refused: the server only ever needs the public one.
    public init(pem: String, kid: String? = nil) throws(TokenError) {
        if pem.contains("PRIVATE KEY") {
            throw TokenError(
                "this PEM holds a private key; register its public key instead (openssl pkey -in KEY -pubout)")
        }
        if let publicKey = try? P384.Signing.PublicKey(pemRepresentation: pem) {
            try self.init(p384: publicKey, kid: kid, alg: nil, use: nil)
        } else if let publicKey = try? _RSA.Signing.PublicKey(pemRepresentation: pem) {
            guard let primitives = try? publicKey.getKeyPrimitives() else {
                throw TokenError("the RSA public key's modulus and exponent could not be read")
            }
            try self.init(
                rsa: publicKey, n: Self.withoutLeadingZeros(Array(primitives.modulus)),
                e: Self.withoutLeadingZeros(Array(primitives.publicExponent)), kid: kid, alg: nil, use: nil)
        } else {
            throw TokenError("not a PEM P-384 or RSA (2048 bits or more) public key")
        }
    }

    init(
        p384 publicKey: P384.Signing.PublicKey, kid: String?, alg: String?, use: String?,
        containsPrivateKey: Bool = false
    ) throws(TokenError) {
        let raw = Array(publicKey.rawRepresentation)
        try self.init(
            keyType: .ecP384, key: .p384(publicKey),
            members: [("crv", "P-384"), ("kty", "EC"), ("x", Base64URL.encode(Array(raw[..<48]))),
                      ("y", Base64URL.encode(Array(raw[48...])))],
            kid: kid, alg: alg, use: use, containsPrivateKey: containsPrivateKey)
    }

    private init(
        rsa publicKey: _RSA.Signing.PublicKey, n: [UInt8], e: [UInt8], kid: String?, alg: String?, use: String?,
        containsPrivateKey: Bool = false
    ) throws(TokenError) {
        try self.init(
            keyType: .rsa, key: .rsa(publicKey),
            members: [("e", Base64URL.encode(e)), ("kty", "RSA"), ("n", Base64URL.encode(n))],
            kid: kid, alg: alg, use: use, containsPrivateKey: containsPrivateKey)
    }

    private init(
        keyType: KeyType, key: PublicKey, members: [(String, String)], kid: String?, alg: String?, use: String?,
        containsPrivateKey: Bool
    ) throws(TokenError) {
        if let alg, alg != keyType.algorithm {
            throw TokenError("JWK algorithm '\(alg)' is not supported for this \(keyType.rawValue) key, only \(keyType.algorithm)")
        }
        if let use, use != "sig" {
            throw TokenError("the JWK's \"use\" is '\(use)', not 'sig'")
        }
        self.keyType = keyType
        self.key = key
        self.members = members
        self.kid = kid
        self.alg = alg
        self.use = use
        self.containsPrivateKey = containsPrivateKey
        // RFC 7638 §3: required members only, lexicographic order, no whitespace. Every value
        // here is base64url or a fixed name, so none needs JSON escaping.
        let canonical = "{" + members.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}"
        thumbprint = Base64URL.encode(Array(SHA256.hash(data: Array(canonical.utf8))))
    }

    private static func withoutLeadingZeros(_ bytes: [UInt8]) -> [UInt8] {
        let trimmed = Array(bytes.drop { $0 == 0 })
        return trimmed.isEmpty ? [0] : trimmed
    }

    // MARK: Writing

    /// The public JWK: `kty` and its required members, then `kid`, `alg` and `use` when set.
    public var json: JSONValue {
        var object = JSONObject()
        object["kty"] = .string(keyType.rawValue)
        for (name, value) in members where name != "kty" { object[name] = .string(value) }
        if let kid { object["kid"] = .string(kid) }
        if let alg { object["alg"] = .string(alg) }
        if let use { object["use"] = .string(use) }
        return .object(object)
    }

    /// The same key with another `kid`, `alg` and `use`.
    public func with(kid: String?, alg: String? = nil, use: String? = nil) throws(TokenError) -> JWK {
        try JWK(
            keyType: keyType, key: key, members: members, kid: kid, alg: alg, use: use,
            containsPrivateKey: containsPrivateKey)
    }

    // MARK: Verifying

    /// Whether `jwt` is signed by this key: the header's `alg` must be `ES384` for a P-384 key
    /// or `RS384` for an RSA key (and the key's own `alg`, when set); anything else — `none`,
    /// the `HS*` family, other curves and hashes — is `false`.
    public func verify(_ jwt: JWT) -> Bool {
        guard let algorithm = jwt.algorithm, algorithm == keyType.algorithm, alg == nil || alg == algorithm else {
            return false
        }
        switch key {
        case .p384(let publicKey):
            // JWS ECDSA signatures are the raw R || S (RFC 7518 §3.4), 48 bytes each for P-384.
            guard jwt.signature.count == 96,
                  let signature = try? P384.Signing.ECDSASignature(rawRepresentation: jwt.signature) else {
                return false
            }
            return publicKey.isValidSignature(signature, for: jwt.signingInput)
        case .rsa(let publicKey):
            guard !jwt.signature.isEmpty else { return false }
            let signature = _RSA.Signing.RSASignature(rawRepresentation: jwt.signature)
            return publicKey.isValidSignature(
                signature, for: SHA384.hash(data: jwt.signingInput), padding: .insecurePKCS1v1_5)
        }
    }
}

/// An RFC 7517 JWK Set. Keys this project cannot use (other key types, curves or algorithms,
/// encryption keys, malformed entries) are left out, each with the reason in `skipped`.
public struct JWKSet: Sendable {
    public let keys: [JWK]
    /// Why each left-out key was left out, in document order (for logs and `atrctl`).
    public let skipped: [String]

    public init(keys: [JWK]) {
        self.keys = keys
        skipped = []
    }

    /// Reads `{"keys": [...]}`; a single JWK object is accepted as a set of one.
    public init(json: JSONValue) throws(TokenError) {
        guard case .object(let object) = json else { throw TokenError("a JWK Set is a JSON object") }
        let entries: [JSONValue]
        if let list = object["keys"] {
            guard case .array(let array) = list else { throw TokenError("the JWK Set's \"keys\" is not an array") }
            entries = array
        } else if object["kty"] != nil {
            entries = [json]
        } else {
            throw TokenError("a JWK Set has a \"keys\" array")
        }
        var keys: [JWK] = []
        var skipped: [String] = []
        for (position, entry) in entries.enumerated() {
            do {
                keys.append(try JWK(json: entry))
            } catch {
                let name = entry["kid"]?.stringValue.map { "key '\($0)'" } ?? "key #\(position + 1)"
                skipped.append("\(name): \(error.message)")
            }
        }
        self.keys = keys
        self.skipped = skipped
    }

    /// Reads a JWK Set document from its bytes.
    public init(jsonBytes: [UInt8]) throws(TokenError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(jsonBytes)
        } catch {
            throw TokenError("the JWK Set is not valid JSON: \(error.message)")
        }
        try self.init(json: value)
    }

    /// `{"keys": [...]}` with the public keys.
    public var json: JSONValue {
        ["keys": .array(keys.map(\.json))]
    }

    /// The keys to try for `jwt`: those whose `kid` equals the header's `kid`; failing that,
    /// those whose RFC 7638 thumbprint equals it; with no `kid` in the header, all keys.
    public func candidates(for jwt: JWT) -> [JWK] {
        guard let kid = jwt.keyID else { return keys }
        let byKid = keys.filter { $0.kid == kid }
        return byKid.isEmpty ? keys.filter { $0.thumbprint == kid } : byKid
    }
}
