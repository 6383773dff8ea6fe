/// The task and file a download names: the `/files/{task}/{file}` path nginx passes on with its
/// `secure_link` verdict (`$uri`, already normalised), the path `FileURLSigner` signs. Anything
/// else (more or fewer segments, an escape, a dot segment) names no file and is refused before
/// any lookup.
public struct FileDownloadPath: Sendable, Equatable {
    public var taskId: String
    public var file: String

    public init?(_ path: String) {
        // Split as nginx does, by bytes: as characters, a '/' followed by a combining mark is no
        // '/' at all, and the segments would not be the ones nginx serves.
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Substring.init)
        guard parts.count == 4, parts[0].isEmpty, "/" + parts[1] == FileURLSigner.pathPrefix,
              !path.utf8.contains(UInt8(ascii: "%")), !parts.contains(".."), !parts.contains(".") else {
            return nil
        }
        taskId = String(parts[2])
        file = String(parts[3])
    }
}
