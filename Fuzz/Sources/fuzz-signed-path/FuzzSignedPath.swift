import ExportDomain
import FuzzSupport

/// A download path as nginx passes it on (first line) and a byte position (second line). nginx
/// checks the signature (`secure_link`); ours are the path check that names the task and file, and
/// the signature, which must cover every byte of the path and the expiry.
@main enum FuzzSignedPath {
    static let signer = FileURLSigner(secret: "fuzz-secret", lifetimeSeconds: 300, origin: "https://atr.example.org")
    static let expires = FuzzFixtures.now.millisecondsSinceEpoch / 1000 + 300

    static func main() {
        FuzzDriver.run { input in
            let fields = input.textFields(2)
            let path = fields[0]
            if let download = FileDownloadPath(path) {
                // Only the very path that was signed names its file: no second spelling of it.
                require(FileURLSigner.path(taskId: download.taskId, file: download.file) == path, "\(path) names \(download)")
                require(![download.taskId, download.file].contains { $0 == "." || $0 == ".." || $0.utf8.contains(UInt8(ascii: "/")) },
                        "\(path) names \(download)")
                let url = signer.signedURL(taskId: download.taskId, file: download.file, now: FuzzFixtures.now)
                let signature = signer.signature(path: path, expires: expires)
                require(url == "https://atr.example.org\(path)?md5=\(signature)&expires=\(expires)", "the URL \(url)")
            }
            guard !path.isEmpty else { return }
            let signature = signer.signature(path: path, expires: expires)
            require(Base64URL.decode(signature)?.count == 16, "the signature '\(signature)' is not an MD5 in base64url")
            var mutated = Array(path.utf8)
            let position = fields[1].utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF } % mutated.count
            mutated[position] ^= 0x01
            require(signer.signature(path: String(decoding: mutated, as: UTF8.self), expires: expires) != signature,
                    "a mutated path has the signature of \(path)")
            require(signer.signature(path: path, expires: expires + 1) != signature, "another expiry has the same signature")
        }
    }
}
