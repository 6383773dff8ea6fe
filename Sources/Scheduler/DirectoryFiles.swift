import ExportDomain
import ExportEngine
import Foundation
import Runtime

/// The export's files in its temporary directory (`TaskFiles.buildingDirectory`).
struct DirectoryFiles: ExportFiles {
    let directory: String

    func create(_ name: String) throws -> FileWriter {
        try FileWriter(path: "\(directory)/\(name)")
    }
}

/// A buffered file that is fsynced before it is closed, so a completed task's files survive a crash.
final class FileWriter: ExportFile {
    let path: String
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
