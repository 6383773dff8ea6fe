import ExportDomain
import Foundation
import Storage

/// Where a task's files live under `TaskFileManagement.StorageService.StoragePath`:
/// `{root}/{taskId}/` once complete, `{root}/.building/{taskId}.{owner}/` while being written.
/// Only finished files are ever renamed into a task's directory.
public struct TaskFiles: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public var buildingRoot: String { "\(root)/.building" }

    public func finalDirectory(_ taskId: String) -> String { "\(root)/\(taskId)" }

    public func buildingDirectory(_ lease: TaskLease) -> String { "\(buildingRoot)/\(lease.taskId).\(lease.owner)" }

    /// A fresh, empty temporary directory; leftovers of earlier attempts at the task are removed.
    public func prepareBuilding(_ lease: TaskLease) throws -> String {
        if mkdir(buildingRoot, 0o750) != 0 && errno != EEXIST {
            throw FileSystemError(operation: "create", path: buildingRoot, errno: errno)
        }
        removeBuilding(lease.taskId)
        let directory = buildingDirectory(lease)
        // POSIX mkdir keeps a setgid bit inherited from the task root (production: group www-data,
        // so nginx can read the files); Foundation's createDirectory would drop it.
        guard mkdir(directory, 0o750) == 0 else {
            throw FileSystemError(operation: "create", path: directory, errno: errno)
        }
        return directory
    }

    /// Moves the finished directory into place in one rename.
    public func publish(_ lease: TaskLease) throws {
        let target = finalDirectory(lease.taskId)
        if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
        guard rename(buildingDirectory(lease), target) == 0 else {
            throw FileSystemError(operation: "move into place", path: target, errno: errno)
        }
        syncDirectory(root)
    }

    /// The temporary directories of every attempt at the task (those of dead schedulers too).
    public func removeBuilding(_ taskId: String) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: buildingRoot)) ?? [] where entry.hasPrefix(taskId + ".") {
            remove("\(buildingRoot)/\(entry)")
        }
    }

    public func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Removes directories of tasks that no longer have files (cancelled, expired, unknown) and
    /// temporary directories of tasks no longer being built.
    /// `owners` gives the tasks with files (`live`) and those running (`building`). It is asked
    /// after the directories are listed: a directory listed then belongs to a task that had
    /// been claimed before, so a task claimed or published meanwhile (by another worker or node)
    /// is in the answer and keeps its files. A published directory whose task is still active
    /// (between `publish` and the completion's commit) is kept too.
    public func removeOrphans(owners: () throws -> (live: Set<String>, building: Set<String>)) rethrows {
        let published = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0 != ".building" }
        let beingBuilt = (try? FileManager.default.contentsOfDirectory(atPath: buildingRoot)) ?? []
        let (live, building) = try owners()
        for entry in published where !live.contains(entry) && !building.contains(entry) {
            remove("\(root)/\(entry)")
        }
        for entry in beingBuilt {
            let taskId = String(entry.prefix { $0 != "." })
            if !building.contains(taskId) { remove("\(buildingRoot)/\(entry)") }
        }
    }

    private func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

/// A failed file-system call on the task files, with its errno, so the scheduler can tell a
/// full disk from an unwritable directory.
public struct FileSystemError: Error, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(errno)))" }

    public var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT }
}
