import ExportDomain
import FHIRService
import Foundation

/// The export's files in its temporary directory: `content{Type}.ndjson`, continued in
/// `content{Type}-2.ndjson`, … past `maxFileSize`; one resource per line, no blank lines.
final class NDJSONOutput {
    private let directory: String
    private let maxFileSize: Int
    private var writers: [String: FileWriter] = [:]
    private(set) var files: [ExportManifest.File] = []

    init(directory: String, maxFileSize: Int) {
        self.directory = directory
        self.maxFileSize = maxFileSize
    }

    func write(type: String, line: [UInt8], fileStem: String? = nil) throws {
        try line.withUnsafeBytes { bytes in
            try write(type: type, length: bytes.count, fileStem: fileStem) { try $0.append(bytes) }
        }
    }

    /// One line of `length` bytes that `body` appends in pieces (the newline is added here).
    func write(type: String, length: Int, fileStem: String? = nil, _ body: (FileWriter) throws -> Void) throws {
        let stem = fileStem ?? "content\(type)"
        var writer = writers[stem]
        if let current = writer, current.size > 0, current.size + length + 1 > maxFileSize {
            try current.close()
            writer = nil
        }
        if writer == nil {
            let part = files.filter { $0.name.hasPrefix(stem + ".") || $0.name.hasPrefix(stem + "-") }.count + 1
            let name = part == 1 ? "\(stem).ndjson" : "\(stem)-\(part).ndjson"
            let opened = try FileWriter(path: "\(directory)/\(name)")
            files.append(ExportManifest.File(type: type, name: name, count: 0))
            writers[stem] = opened
            writer = opened
        }
        guard let writer, let index = files.lastIndex(where: { $0.name == writer.name }) else { return }
        try body(writer)
        try [UInt8(0x0A)].withUnsafeBytes { try writer.append($0) }
        files[index].count += 1
    }

    /// Flushes, syncs and closes every file; the manifest's file list in type order.
    func finish(typeOrder: [String]) throws -> [ExportManifest.File] {
        for writer in writers.values { try writer.close() }
        writers.removeAll()
        return files.sorted { lhs, rhs in
            let left = typeOrder.firstIndex(of: lhs.type) ?? typeOrder.count
            let right = typeOrder.firstIndex(of: rhs.type) ?? typeOrder.count
            return left != right ? left < right : files.firstIndex(of: lhs)! < files.firstIndex(of: rhs)!
        }
    }

    func abandon() {
        for writer in writers.values { try? writer.close() }
        writers.removeAll()
    }
}

/// A buffered file that is fsynced before it is closed, so a completed task's files survive a crash.
final class FileWriter {
    let path: String
    var name: String { (path as NSString).lastPathComponent }
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private(set) var size = 0
    private var closed = false

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw FileSystemError(operation: "create", path: path, errno: errno) }
        buffer.reserveCapacity(Self.bufferSize)
    }

    deinit {
        if !closed { Foundation.close(descriptor) }
    }

    private static let bufferSize = 1 << 16

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        size += bytes.count
        // A big piece (a Group's member list) goes straight to the file: buffering it would
        // keep a second copy of it in memory for the rest of the export.
        if bytes.count >= Self.bufferSize {
            try flush()
            try writeAll(bytes)
            return
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.bufferSize { try flush() }
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileSystemError(operation: "write", path: path, errno: errno)
            }
            offset += written
        }
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        defer { Foundation.close(descriptor) }
        try flush()
        guard fsync(descriptor) == 0 else { throw FileSystemError(operation: "sync", path: path, errno: errno) }
    }
}
