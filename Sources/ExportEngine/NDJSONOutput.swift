import ExportDomain

/// The export's files: `content{Type}.ndjson`, continued in `content{Type}-2.ndjson`, … past
/// `maxFileSize`; one resource per line, no blank lines.
public final class NDJSONOutput<Files: ExportFiles> {
    private let directory: Files
    private let maxFileSize: Int
    /// The open file per stem, with its index in `files`.
    private var writers: [String: (file: Files.File, index: Int)] = [:]
    private(set) var files: [ExportManifest.File] = []

    public init(files: Files, maxFileSize: Int) {
        directory = files
        self.maxFileSize = maxFileSize
    }

    public func write(type: ResourceType, line: [UInt8], fileStem: String? = nil) throws {
        try line.withUnsafeBytes { bytes in
            try write(type: type, length: bytes.count, fileStem: fileStem) { try $0.append(bytes) }
        }
    }

    /// One line of `length` bytes that `body` appends in pieces (the newline is added here).
    public func write(type: ResourceType, length: Int, fileStem: String? = nil, _ body: (Files.File) throws -> Void) throws {
        let stem = fileStem ?? "content\(type)"
        var writer = writers[stem]
        if let current = writer, current.file.size > 0, current.file.size + length + 1 > maxFileSize {
            try current.file.close()
            writer = nil
        }
        if writer == nil {
            let part = files.filter { $0.name.hasPrefix(stem + ".") || $0.name.hasPrefix(stem + "-") }.count + 1
            let name = part == 1 ? "\(stem).ndjson" : "\(stem)-\(part).ndjson"
            let opened = (file: try directory.create(name), index: files.count)
            files.append(ExportManifest.File(type: type, name: name, count: 0))
            writers[stem] = opened
            writer = opened
        }
        guard let writer else { return }
        try body(writer.file)
        try [UInt8(0x0A)].withUnsafeBytes { try writer.file.append($0) }
        files[writer.index].count += 1
    }

    /// Flushes, syncs and closes every file; the manifest's file list in type order.
    public func finish(typeOrder: [ResourceType]) throws -> [ExportManifest.File] {
        for writer in writers.values { try writer.file.close() }
        writers.removeAll()
        return files.sorted { lhs, rhs in
            let left = typeOrder.firstIndex(of: lhs.type) ?? typeOrder.count
            let right = typeOrder.firstIndex(of: rhs.type) ?? typeOrder.count
            return left != right ? left < right : files.firstIndex(of: lhs)! < files.firstIndex(of: rhs)!
        }
    }

    public func abandon() {
        for writer in writers.values { try? writer.file.close() }
        writers.removeAll()
    }
}

