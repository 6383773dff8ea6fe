import Crypto

/// Signed, expiring download URLs that nginx checks itself with `secure_link`:
/// `md5` = base64url(MD5(expires + path + " " + secret)) without padding, `expires` = Unix seconds.
/// MD5 is what stock nginx offers here; the secret keeps the signature unforgeable in practice
/// and the expiry bounds any leaked link.
public struct FileURLSigner: Sendable {
    public static let pathPrefix = "/files"

    public var secret: String
    public var lifetimeSeconds: Int
    /// `https://host:port` of the public base URL.
    public var origin: String

    public init(secret: String, lifetimeSeconds: Int, origin: String) {
        self.secret = secret
        self.lifetimeSeconds = lifetimeSeconds
        self.origin = origin
    }

    public static func path(taskId: String, file: String) -> String {
        "\(pathPrefix)/\(taskId)/\(file)"
    }

    public func signedURL(taskId: String, file: String, now: FHIRInstant) -> String {
        let path = Self.path(taskId: taskId, file: file)
        let expires = now.millisecondsSinceEpoch / 1000 + Int64(lifetimeSeconds)
        return "\(origin)\(path)?md5=\(signature(path: path, expires: expires))&expires=\(expires)"
    }

    public func signature(path: String, expires: Int64) -> String {
        let digest = Insecure.MD5.hash(data: Array("\(expires)\(path) \(secret)".utf8))
        return Base64URL.encode(Array(digest))
    }
}

public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// RFC 4648 §5 without padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 2 < bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { output.append(alphabet[Int(chunk >> UInt32(shift) & 63)]) }
            index += 3
        }
        let remaining = bytes.count - index
        if remaining == 1 {
            let chunk = UInt32(bytes[index]) << 16
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
        } else if remaining == 2 {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// RFC 4648 §4 (standard alphabet, padded): FHIR `base64Binary`.
    public static func standard(_ bytes: [UInt8]) -> String {
        let unpadded = encode(bytes).map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 }
        return String(unpadded) + String(repeating: "=", count: (4 - unpadded.count % 4) % 4)
    }
}
