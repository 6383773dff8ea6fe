import ExportDomain
import ExportEngine

/// An export snapshot in memory: resources by key, their references indexed by the same rules
/// the database uses on every write (`ReferenceIndexing`), and the "already exported" set.
final class InMemorySnapshot: ExportSource {
    static let baseURL = "https://atr.example.org/fhir"

    private var resources: [ResourceKey: (lastUpdated: FHIRInstant, json: [UInt8])] = [:]
    private var references: [(source: ResourceKey, reference: IndexedReference)] = []
    private var exported = Set<ExportMark>()
    private var rowNumbers: [ResourceKey: Int64] = [:]
    /// Calls of each batch lookup, to check members are looked up by slice.
    private(set) var lookups: [String: Int] = [:]

    /// Each JSON text must carry `resourceType`, `id` and `meta.lastUpdated`. `unreadableGroups`
    /// are stored as given (id → bytes), as a damaged row would be.
    init(_ texts: [String], unreadableGroups: [String: String] = [:]) throws {
        for (id, text) in unreadableGroups {
            let key = ResourceKey(type: "Group", id: id)
            resources[key] = (FHIRInstant.parseInstant(ExportBuilderTests.old)!, Array(text.utf8))
            rowNumbers[key] = Int64(rowNumbers.count + 1)
        }
        for text in texts {
            guard case .object(let resource) = try JSONParser.parse(Array(text.utf8)),
                  let type = resource["resourceType"]?.stringValue, let id = resource["id"]?.stringValue,
                  let lastUpdated = resource["meta"]?["lastUpdated"]?.stringValue.flatMap(FHIRInstant.parseInstant) else {
                fatalError("fixture needs resourceType, id and meta.lastUpdated: \(text)")
            }
            let key = ResourceKey(type: ResourceType(rawValue: type), id: id)
            resources[key] = (lastUpdated, Array(text.utf8))
            rowNumbers[key] = rowNumbers[key] ?? Int64(rowNumbers.count + 1)
            for reference in ReferenceIndexing.references(in: resource, baseURL: Self.baseURL) {
                references.append((key, reference))
            }
        }
    }

    /// Set to make every Group read fail the way a storage error does (zeros after it).
    var groupReadFailure: Error?

    func group(_ key: ResourceKey) throws -> InMemoryGroup? {
        guard key.type == "Group", let stored = resources[key] else { return nil }
        let group = InMemoryGroup(bytes: stored.json, lastUpdated: stored.lastUpdated)
        group.readFailure = groupReadFailure
        return group
    }

    func currentResources(_ keys: [ResourceKey]) throws -> [ResourceKey: ExportRow] {
        lookups["currentResources", default: 0] += 1
        var found: [ResourceKey: ExportRow] = [:]
        for key in keys {
            // Marked by row number, as on SQLite.
            if let row = resources[key], let number = rowNumbers[key] {
                found[key] = ExportRow(lastUpdated: row.lastUpdated, json: row.json, mark: .row(number))
            }
        }
        return found
    }

    func referencing(_ targets: [ResourceKey], _ links: [MemberLink]) throws -> [[ResourceKey: [ResourceKey]]] {
        lookups["referencing", default: 0] += 1
        return links.map { link in
            var linked: [ResourceKey: [ResourceKey]] = [:]
            for target in Set(targets) {
                let sources = references.filter {
                    $0.reference.target == target && $0.source.type == link.type && link.paths.contains($0.reference.path)
                }.map(\.source)
                if !sources.isEmpty { linked[target] = Array(Set(sources)).sorted { $0.id < $1.id } }
            }
            return linked
        }
    }

    func markExported(_ marks: [ExportMark]) throws -> Set<ExportMark> {
        lookups["markExported", default: 0] += 1
        return Set(marks.filter { exported.insert($0).inserted })
    }

    // `_since`: earlier versions of Groups, deletions, and the noted members.

    /// Superseded Group versions (JSON texts with `meta.lastUpdated`), oldest first.
    var earlierGroupVersions: [ResourceKey: [String]] = [:]
    /// Resources whose current version is a deletion: when, and the JSON before it.
    var deletions: [(key: ResourceKey, at: FHIRInstant, before: String?)] = []
    private var earlierMembers = Set<ResourceKey>()
    private var currentMembers = Set<ResourceKey>()

    func group(_ key: ResourceKey, at instant: FHIRInstant) throws -> InMemoryGroup? {
        var versions: [(FHIRInstant, [UInt8])] = (earlierGroupVersions[key] ?? []).map { text in
            guard case .object(let group)? = try? JSONParser.parse(Array(text.utf8)),
                  let lastUpdated = group["meta"]?["lastUpdated"]?.stringValue.flatMap(FHIRInstant.parseInstant) else {
                fatalError("an earlier version needs meta.lastUpdated: \(text)")
            }
            return (lastUpdated, Array(text.utf8))
        }
        if let current = resources[key] { versions.append((current.lastUpdated, current.json)) }
        guard let version = versions.last(where: { $0.0 < instant }) else { return nil }
        return InMemoryGroup(bytes: version.1, lastUpdated: version.0)
    }

    func noteMembers(_ patients: [ResourceKey], earlier: Bool) throws {
        if earlier { earlierMembers.formUnion(patients) } else { currentMembers.formUnion(patients) }
    }

    func earlierMemberIds(among patients: [ResourceKey]) throws -> Set<String> {
        Set(patients.filter(earlierMembers.contains).map(\.id))
    }

    func notedMember(_ patient: ResourceKey) throws -> (earlier: Bool, current: Bool) {
        (earlierMembers.contains(patient), currentMembers.contains(patient))
    }

    func forEachDepartedMember(_ body: (ResourceKey) throws -> Void) throws {
        for patient in earlierMembers.subtracting(currentMembers).sorted() { try body(patient) }
    }

    func forEachDeletion(since: FHIRInstant, types: [ResourceType], _ body: (ResourceKey, [UInt8]?) throws -> Void) throws {
        for deletion in deletions where types.contains(deletion.key.type) && !(deletion.at < since) {
            try body(deletion.key, deletion.before.map { Array($0.utf8) })
        }
    }
}

/// A Group's bytes handed out in small pieces, so copying across window edges is exercised.
final class InMemoryGroup: GroupBytes {
    let stored: [UInt8]
    let lastUpdated: FHIRInstant
    var readFailure: Error?

    init(bytes: [UInt8], lastUpdated: FHIRInstant) {
        stored = bytes
        self.lastUpdated = lastUpdated
    }

    /// Calls of `bytes` and `forEachPiece`: the reads a stored Group would cost.
    private(set) var reads = 0

    var count: Int { stored.count }
    func byte(at index: Int) -> UInt8 { stored[index] }
    func bytes(_ range: Range<Int>) -> [UInt8] {
        reads += 1
        return Array(stored[range])
    }

    func forEachPiece(of range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        reads += 1
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + 7, range.upperBound)
            try stored[start..<end].withUnsafeBytes(body)
            start = end
        }
    }
}

/// Export files in memory, by name.
final class InMemoryFiles: ExportFiles {
    final class File: ExportFile {
        private(set) var bytes: [UInt8] = []
        private(set) var closed = false
        var size: Int { bytes.count }

        /// Thrown by every append (a full disk).
        var appendFailure: Error?

        func append(_ bytes: UnsafeRawBufferPointer) throws {
            precondition(!closed, "append after close")
            if let appendFailure { throw appendFailure }
            self.bytes.append(contentsOf: bytes)
        }

        func close() throws { closed = true }
    }

    private(set) var files: [(name: String, file: File)] = []
    /// Files whose appends throw, by name, with what they throw.
    var failingFiles: [String: Error] = [:]

    func create(_ name: String) throws -> File {
        precondition(!files.contains { $0.name == name }, "\(name) created twice")
        let file = File()
        file.appendFailure = failingFiles[name]
        files.append((name, file))
        return file
    }

    /// The lines of a file as text.
    func lines(_ name: String) -> [String] {
        guard let file = files.first(where: { $0.name == name })?.file else { return [] }
        let text = String(decoding: file.bytes, as: UTF8.self)
        precondition(text.hasSuffix("\n"), "\(name) does not end with a newline")
        return text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}
