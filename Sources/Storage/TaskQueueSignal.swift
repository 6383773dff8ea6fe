import ExportDomain
import Glibc

/// How a kick-off wakes the schedulers waiting for work, so a queued task starts at once rather
/// than at the next `RepeatPeriod` poll (which stays the fallback):
/// - PostgreSQL: `pg_notify` in the kick-off's transaction, delivered to every LISTENing
///   scheduler of every node when it commits;
/// - SQLite (one host): the kick-off closes a marker file beside the database
///   (`{Database.Path}-queued`), which the schedulers watch with inotify.
///
/// The signal is sent inside the kick-off's write transaction. A scheduler woken before the
/// commit claims in a write transaction of its own, which waits for the kick-off's to end, so it
/// sees the task; a signal of a transaction rolled back only costs an empty claim.
enum TaskQueueSignal {
    static let channel = "atr_task_queued"

    static func markerPath(databasePath: String) -> String { databasePath + "-queued" }
}

extension Database {
    /// Call inside the write transaction that queued a task. A marker file that cannot be
    /// written does not fail the kick-off: the task still starts at the next poll. (A failed
    /// statement on PostgreSQL has aborted the transaction, so it is thrown.)
    func announceQueuedTask() throws {
        switch location {
        case .postgresql:
            _ = try connection.query("SELECT pg_notify(?, '')", [.text(TaskQueueSignal.channel)]) { _ in () }
        case .sqlite(let path):
            let descriptor = open(TaskQueueSignal.markerPath(databasePath: path), O_WRONLY | O_CREAT | O_CLOEXEC, 0o660)
            if descriptor >= 0 { close(descriptor) }
        }
    }

    /// A listener for queued tasks, for a scheduler's waiting thread. It holds a connection (or
    /// an inotify descriptor) of its own.
    public func makeQueueListener() throws -> TaskQueueListener {
        switch location {
        case .postgresql(let connectionString, let password):
            let listening = try PostgreSQLConnection(connectionString: connectionString, password: password,
                                                     lockTimeoutMilliseconds: 1000)
            try listening.execute(PostgreSQLQueueListener.listen)
            return PostgreSQLQueueListener(connection: listening)
        case .sqlite(let path):
            return try MarkerFileQueueListener(markerPath: TaskQueueSignal.markerPath(databasePath: path))
        }
    }
}

public protocol TaskQueueListener: AnyObject {
    /// Waits up to `milliseconds`; true when a task may have been queued meanwhile.
    func wait(milliseconds: Int32) throws -> Bool
}

final class PostgreSQLQueueListener: TaskQueueListener {
    static let listen = "LISTEN \(TaskQueueSignal.channel)"
    private let connection: PostgreSQLConnection

    init(connection: PostgreSQLConnection) {
        self.connection = connection
    }

    func wait(milliseconds: Int32) throws -> Bool {
        try connection.awaitNotification(milliseconds: milliseconds, relisten: Self.listen)
    }
}

/// inotify on the database's directory (the marker file need not exist yet), for the marker's
/// name only.
final class MarkerFileQueueListener: TaskQueueListener {
    private let descriptor: Int32
    private let markerName: String

    init(markerPath: String) throws {
        let slash = markerPath.lastIndex(of: "/")
        let directory = slash.map { $0 == markerPath.startIndex ? "/" : String(markerPath[..<$0]) } ?? "."
        markerName = slash.map { String(markerPath[markerPath.index(after: $0)...]) } ?? markerPath
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw StorageError(code: errno, message: "inotify_init1 failed") }
        let events = UInt32(IN_CLOSE_WRITE) | UInt32(IN_ATTRIB) | UInt32(IN_MOVED_TO)
        guard inotify_add_watch(descriptor, directory, events) >= 0 else {
            let error = errno
            close(descriptor)
            throw StorageError(code: error, message: "cannot watch \(directory) with inotify")
        }
    }

    deinit {
        close(descriptor)
    }

    func wait(milliseconds: Int32) throws -> Bool {
        var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&waiting, 1, milliseconds) > 0 else { return false }
        return drainEvents()
    }

    private func drainEvents() -> Bool {
        var queued = false
        let capacity = 16 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer, capacity)
            guard count > 0 else { return queued }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = offset + MemoryLayout<inotify_event>.size
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { queued = true }
                if event.len > 0 {
                    let name = String(cString: buffer.advanced(by: nameStart).assumingMemoryBound(to: CChar.self))
                    if name == markerName { queued = true }
                }
                offset = nameStart + Int(event.len)
            }
        }
    }
}
