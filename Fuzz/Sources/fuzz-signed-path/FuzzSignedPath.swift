import ExportDomain
import FuzzSupport

/// Signed download URLs: task id, file name and the `expires` seconds, one a line. nginx checks
/// the signature (`secure_link`); what is ours is that the URL carries exactly the signature of
/// its own path and expiry, and that no other path or expiry has that signature.
@main enum FuzzSignedPath {
    static let signer = FileURLSigner(secret: "fuzz-secret", lifetimeSeconds: 300, origin: "https://atr.example.org")

    static func main() {
        FuzzDriver.run { input in
            let fields = input.textFields(3)
            let (taskId, file) = (fields[0], fields[1])
            let path = FileURLSigner.path(taskId: taskId, file: file)
            let expires = FuzzFixtures.now.millisecondsSinceEpoch / 1000 + 300
            let signature = signer.signature(path: path, expires: expires)
            require(Base64URL.decode(signature)?.count == 16, "the signature '\(signature)' is not an MD5 in base64url")
            let url = signer.signedURL(taskId: taskId, file: file, now: FuzzFixtures.now)
            require(url == "https://atr.example.org\(path)?md5=\(signature)&expires=\(expires)", "the URL \(url)")

            var mutated = Array(path.utf8)
            let position = fields[2].utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF } % mutated.count
            mutated[position] ^= 0x01
            require(signer.signature(path: String(decoding: mutated, as: UTF8.self), expires: expires) != signature,
                    "a mutated path has the signature of \(path)")
            require(signer.signature(path: path, expires: expires + 1) != signature, "another expiry has the same signature")
        }
    }
}
