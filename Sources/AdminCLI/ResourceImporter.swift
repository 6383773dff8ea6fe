import ExportDomain
import FHIRService
import Foundation
import Runtime
import Storage

/// Loads files into the database in batched write transactions.
final class ResourceImporter {
    let database: Database
    let batchSize: Int
    private(set) var created = 0
    private(set) var updated = 0
    private(set) var failures = 0
    let progress = ProgressReporter(label: "import", total: nil)
    private(set) var deleted = 0
    private var pending: [Pending] = []
    private var bytesBefore: Int64 = 0

    init(database: Database, batchSize: Int) {
        self.database = database
        self.batchSize = batchSize
    }

    func importFile(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ValidationFailure("cannot read \(path)")
        }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? nil
        progress.total = (progress.total ?? 0) + (size ?? 0)
        let reader = LineReader(handle: handle)
        var lineNumber = 0
        while let line = reader.nextLine() {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let value: JSONValue
            do {
                value = try JSONParser.parse(line)
            } catch {
                if lineNumber == 1 {
                    // Not NDJSON: a pretty-printed document, read whole.
                    try handle.seek(toOffset: 0)
                    try importDocument(path, Array(handle.readDataToEndOfFile()))
                    return
                }
                report(path, lineNumber, "\(error)")
                continue
            }
            if value["resourceType"]?.stringValue == "Bundle" {
                try importBundle(path, line)
            } else {
                try add(value, path: path, line: lineNumber)
            }
            progress.update(done: bytesBefore + reader.bytesRead, count: created + updated + pending.count)
        }
        try flush()
        bytesBefore += reader.bytesRead
    }

    private func importDocument(_ path: String, _ bytes: [UInt8]) throws {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            report(path, nil, "\(error)")
            return
        }
        if value["resourceType"]?.stringValue == "Bundle" {
            try importBundle(path, bytes)
        } else {
            try add(value, path: path, line: nil)
            try flush()
        }
        bytesBefore += Int64(bytes.count)
    }

    /// A transaction or batch Bundle goes through the same executor as `POST {base}`: a
    /// transaction lands whole or not at all, a batch entry by entry. Any other Bundle
    /// (collection, searchset) is a list of resources to upsert.
    private func importBundle(_ path: String, _ bytes: [UInt8]) throws {
        try flush()
        let type = (try? JSONParser.parse(bytes))?["type"]?.stringValue
        if type == "transaction" || type == "batch" {
            let bundle: BundleRequest
            do {
                bundle = try BundleRequest.parse(bytes) { SystemRandom.uuid() }
            } catch let error as FHIRError {
                report(path, nil, type == "transaction" ? "\(error.diagnostics); nothing of the transaction was written" : error.diagnostics)
                return
            }
            let results: [BundleExecutor.EntryResult]
            do {
                results = try BundleExecutor(database: database, baseURL: database.baseURL).execute(bundle, now: SystemClock.now())
            } catch let error as FHIRError {
                report(path, nil, "\(error.diagnostics); nothing of the transaction was written")
                return
            } catch {
                throw ImportStopped(location: path, reason: "\(error); nothing of the transaction was written")
            }
            for (index, result) in results.enumerated() {
                switch result {
                case .done(_, let wasCreated):
                    if case .success(let entry) = bundle.entries[index], entry.method == .delete {
                        deleted += 1
                    } else if wasCreated {
                        created += 1
                    } else {
                        updated += 1
                    }
                case .failed(let error as FHIRError):
                    let located = error.diagnostics.hasPrefix("entry[") ? error.diagnostics : "entry[\(index)]: \(error.diagnostics)"
                    report(path, nil, located)
                case .failed(let error):
                    throw ImportStopped(location: "\(path): entry[\(index)]", reason: "\(error); the batch's other entries were each tried on their own")
                }
            }
        } else {
            for (index, entry) in ((try? JSONParser.parse(bytes))?["entry"]?.arrayValue ?? []).enumerated() {
                guard let resource = entry["resource"] else {
                    report(path, nil, "entry[\(index)] has no resource")
                    continue
                }
                try add(resource, path: path, line: nil)
            }
        }
        try flush()
    }

    private func add(_ value: JSONValue, path: String, line: Int?) throws {
        do {
            let resource = try ResourceInput.resourceObject(value)
            let type = ResourceType(rawValue: resource["resourceType"]?.stringValue ?? "")
            let id = resource["id"]?.stringValue ?? SystemRandom.uuid()
            pending.append(Pending(resource: resource, key: ResourceKey(type: type, id: id), path: path, line: line))
        } catch let error as FHIRError {
            report(path, line, error.diagnostics)
        }
        if pending.count >= batchSize { try flush() }
    }

    /// Commits the pending resources in one write transaction. They leave `pending` only once
    /// committed: a batch that fails is rolled back whole and stops the import, naming its lines.
    private func flush() throws {
        guard !pending.isEmpty else { return }
        let now = SystemClock.now()
        let createdInBatch: Int
        do {
            createdInBatch = try database.writeTransaction {
                try pending.reduce(0) { count, item in
                    try database.put(item.resource, as: item.key, now: now).created ? count + 1 : count
                }
            }
        } catch {
            throw ImportStopped(location: Self.location(of: pending), reason: "\(error); none of these \(pending.count) resources was written")
        }
        created += createdInBatch
        updated += pending.count - createdInBatch
        pending.removeAll(keepingCapacity: true)
    }

    /// `file:first-last` of a batch (lines are known for NDJSON, not for a document).
    static func location(of batch: [Pending]) -> String {
        let path = batch.first?.path ?? ""
        let lines = batch.compactMap(\.line)
        guard let first = lines.min(), let last = lines.max() else { return path }
        return first == last ? "\(path):\(first)" : "\(path):\(first)-\(last)"
    }

    private func report(_ path: String, _ line: Int?, _ message: String) {
        failures += 1
        progress.clearLine()
        FileHandle.standardError.write(Data("\(path)\(line.map { ":\($0)" } ?? ""): \(message)\n".utf8))
    }
}

/// A resource waiting for its batch's commit, with where it came from.
struct Pending {
    var resource: JSONObject
    var key: ResourceKey
    var path: String
    var line: Int?
}

/// A write that failed for a reason other than the input (disk full, database locked past its
/// busy timeout, …): the import stops there, since what follows would land out of order.
struct ImportStopped: Error, CustomStringConvertible {
    var location: String
    var reason: String
    var description: String { "\(location): \(reason)" }
}

struct ValidationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads a file line by line in large chunks, so an NDJSON file of any size stays out of memory.
final class LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    /// Bytes after `start` already searched for the newline: a long line (a 1M-member Group is
    /// about 500 MB on one line) is searched once, not again from its start after every chunk.
    private var searched = 0
    private var finished = false
    private(set) var bytesRead: Int64 = 0

    init(handle: FileHandle) {
        self.handle = handle
    }

    func nextLine() -> [UInt8]? {
        while true {
            if let newline = buffer[(start + searched)...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                searched = 0
                bytesRead += Int64(line.count + 1)
                return line
            }
            searched = buffer.count - start
            if finished {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                searched = 0
                bytesRead += Int64(line.count)
                return line
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { finished = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
