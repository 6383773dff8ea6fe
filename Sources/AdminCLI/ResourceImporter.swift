import ExportDomain
import FHIRService
import Foundation
import Storage

/// Loads files into the database in batched write transactions.
final class ResourceImporter {
    let database: Database
    let batchSize: Int
    private(set) var created = 0
    private(set) var updated = 0
    private(set) var failures = 0
    let progress = ProgressReporter(label: "import", total: nil)
    private var pending: [(JSONObject, ResourceKey)] = []
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
                add(value, path: path, line: lineNumber)
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
            add(value, path: path, line: nil)
            try flush()
        }
        bytesBefore += Int64(bytes.count)
    }

    /// A transaction or batch Bundle goes through the same rules as `POST {base}`; any other
    /// Bundle (collection, searchset) is a list of resources to upsert.
    private func importBundle(_ path: String, _ bytes: [UInt8]) throws {
        try flush()
        let type = (try? JSONParser.parse(bytes))?["type"]?.stringValue
        if type == "transaction" || type == "batch" {
            let bundle: BundleRequest
            do {
                bundle = try BundleRequest.parse(bytes) { SystemRandom.uuid() }
            } catch {
                report(path, nil, "\(error)")
                return
            }
            for (index, entry) in bundle.entries.enumerated() {
                switch entry {
                case .success(let entry) where entry.method != .delete:
                    pending.append((entry.resource ?? JSONObject(), ResourceKey(type: entry.type, id: entry.id)))
                case .success(let entry):
                    _ = try database.writeTransaction { try database.delete(ResourceKey(type: entry.type, id: entry.id), now: SystemClock.now()) }
                case .failure(let error):
                    report(path, nil, "entry[\(index)]: \(error.diagnostics)")
                }
            }
        } else {
            for (index, entry) in ((try? JSONParser.parse(bytes))?["entry"]?.arrayValue ?? []).enumerated() {
                guard let resource = entry["resource"] else {
                    report(path, nil, "entry[\(index)] has no resource")
                    continue
                }
                add(resource, path: path, line: nil)
            }
        }
        try flush()
    }

    private func add(_ value: JSONValue, path: String, line: Int?) {
        do {
            let resource = try ResourceInput.resourceObject(value)
            let type = resource["resourceType"]?.stringValue ?? ""
            let id = resource["id"]?.stringValue ?? SystemRandom.uuid()
            pending.append((resource, ResourceKey(type: type, id: id)))
        } catch let error as FHIRError {
            report(path, line, error.diagnostics)
        } catch {
            report(path, line, "\(error)")
        }
        if pending.count >= batchSize { try? flush() }
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        let now = SystemClock.now()
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        let createdInBatch = try database.writeTransaction {
            try batch.reduce(0) { count, item in
                try database.put(item.0, as: item.1, now: now).created ? count + 1 : count
            }
        }
        created += createdInBatch
        updated += batch.count - createdInBatch
    }

    private func report(_ path: String, _ line: Int?, _ message: String) {
        failures += 1
        progress.clearLine()
        FileHandle.standardError.write(Data("\(path)\(line.map { ":\($0)" } ?? ""): \(message)\n".utf8))
    }
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
    private var finished = false
    private(set) var bytesRead: Int64 = 0

    init(handle: FileHandle) {
        self.handle = handle
    }

    func nextLine() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                bytesRead += Int64(line.count + 1)
                return line
            }
            if finished {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
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
