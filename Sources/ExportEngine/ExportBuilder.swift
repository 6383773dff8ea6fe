import ExportDomain

/// Builds one ATR export from a snapshot, streaming resource by resource into `output`: memory
/// does not grow with the Group's size (members are read one at a time from the stored Group,
/// and "each resource once" is the source's business — a SQLite table in production). The
/// rules it applies are `ExportDomain/Rules`; this is the order and the streaming.
public final class ExportBuilder<Source: ExportSource, Files: ExportFiles> {
    private let settings: Settings
    private let snapshot: Source
    private let request: ExportRequest
    private let now: FHIRInstant
    /// Written by the line stage's works; anything else writes through `withOutput`, after them.
    private let output: NDJSONOutput<Files>
    private let backgroundLines: Bool
    private var lines: LineStage = InlineLines()
    private let finisher: LineFinisher<Files>
    /// The last slice's member resources' references, found by the line stage; followed after
    /// the next slice's lookups (or the last slice), when the stage has had time to find them.
    private var pendingReferences: SliceReferences?
    private let checkpoint: (String) throws -> Void
    private let redactor: Redactor
    /// Members whose lookups are made together (one query per kind of lookup and slice).
    private let sliceSize: Int

    private let wanted: Set<ResourceType>
    private var written = 0
    private var membersSeen = 0
    private var memberCount = 0
    /// Additional resources (practitioners, organisations, locations) by the smallest depth
    /// at which their references were followed. Bounded by the provider directory, not by members.
    private var followedDepth: [ResourceKey: Int] = [:]
    private var referenceReader: ExportReferenceReader
    private var errors: [JSONValue] = []
    /// Members left out because they opted out (for the audit trail: how many, never which).
    public private(set) var optedOutMembers = 0
    private var deletedWritten = Set<ResourceKey>()
    /// In an ATR list, the member elements of opted-out members, ascending: what the exported
    /// Group leaves out (every element naming a local Patient is a member there). Nil for any
    /// other Group, where elements that do not count may name an opted-out member.
    private var optedOutElements: [GroupLine.Dropped]?
    private var elementsRead = 0

    /// `checkpoint` is called with the progress text every `BatchSize` resources; it throws
    /// (`ExportAbandoned`) to stop the export, e.g. when the task was cancelled. `sliceSize`
    /// members are looked up together: memory holds a slice's own resources, not the list's.
    /// `backgroundLines`: resource lines are finished (`_elements`, redaction) and written on a
    /// thread of their own, overlapping the lookups (the files are the same either way).
    public init(settings: Settings, snapshot: Source, request: ExportRequest, now: FHIRInstant, output: NDJSONOutput<Files>,
                redactor: Redactor, sliceSize: Int = 256, backgroundLines: Bool = false,
                checkpoint: @escaping (String) throws -> Void) {
        self.settings = settings
        self.snapshot = snapshot
        self.request = request
        self.now = now
        self.output = output
        self.redactor = redactor
        self.checkpoint = checkpoint
        self.sliceSize = max(1, sliceSize)
        self.backgroundLines = backgroundLines
        referenceReader = ExportReferenceReader(baseURL: settings.publicBaseURL)
        finisher = LineFinisher(output: output, elements: request.elements, redactor: redactor, baseURL: settings.publicBaseURL)
        wanted = Set(request.types)
    }

    /// Writes every file; returns the OperationOutcomes for the `error` file.
    public func build() throws -> [JSONValue] {
        lines = backgroundLines ? BackgroundLines() : InlineLines()
        pendingReferences = nil
        // On any failure the works not yet run are dropped, and none runs after build returns.
        defer { lines.end() }
        errors = request.ignored.map { OperationOutcome.single(severity: .information, code: .informational, diagnostics: $0) }
        let groupKey = ResourceKey(type: "Group", id: request.groupId)
        // Read piece by piece: an ATR list can be hundreds of MB.
        guard let stored = try snapshot.group(groupKey) else {
            throw ExportFailure(reason: .groupGone(group: "\(groupKey)"))
        }
        let group = GroupWindow(stored)
        // A failed blob read yields zeros, which stop the scan or land in the Group's file: the
        // storage error is what ends the task (and its files are never published).
        do {
            try exportMembersAndGroup(groupKey, group)
        } catch {
            throw group.readFailure ?? error
        }
        if let failure = group.readFailure { throw failure }
        try lines.drain()
        return errors
    }

    /// The output once every submitted line is written: for what is written in place (the Group,
    /// the deleted file), which must follow them.
    private func withOutput(_ body: (NDJSONOutput<Files>) throws -> Void) throws {
        try lines.drain()
        try body(output)
    }

    private func exportMembersAndGroup(_ groupKey: ResourceKey, _ group: GroupWindow) throws {
        guard let scan = ResourceScan(group, countingElementsOf: "member") else {
            throw ExportFailure(reason: .groupMalformed(group: "\(groupKey)"))
        }
        let requested = requestedPatients()
        if let since = request.since { try noteEarlierMembers(groupKey, at: since) }
        var requestedFound = Set<ResourceKey>()
        var optedOut = Set<String>()
        let groupWanted = wanted.contains("Group")
        var redactionMayChangeGroup = false
        if let members = scan.value("member") {
            let atrGroup = ATRMembership.isATRGroup(ATRMembership.metaAndExtensions(scan, group))
            if atrGroup { optedOutElements = [] }
            memberCount = scan.countedElements ?? 0
            // The kick-off refused it if the count was indexed; a Group grown since, or written
            // before counts were indexed, is refused here, before any file is written.
            let maxMembers = settings.bulkDataExport.maxGroupMembers
            guard memberCount <= maxMembers else {
                throw ExportFailure(reason: .groupTooLarge(group: "\(groupKey)", members: memberCount, limit: maxMembers))
            }
            try checkpoint(progress())
            // The line stage reads each slice's elements while the slice before it is exported.
            let reading = MemberReading(atrGroup: atrGroup, now: now, baseURL: settings.publicBaseURL,
                                        redactor: groupWanted ? redactor : nil)
            var elements: [[UInt8]] = []
            var ranges: [Range<Int>] = []
            var previous: (slice: SliceMembers, firstElement: Int, ranges: [Range<Int>], ticket: Int)?
            func exportPrevious() throws {
                guard let (slice, firstElement, ranges, ticket) = previous else { return }
                previous = nil
                try lines.wait(forFirst: ticket)
                if slice.redactionMayChange { redactionMayChangeGroup = true }
                try exportMembers(slice.members, firstElement: firstElement, ranges: ranges, requested: requested,
                                  requestedFound: &requestedFound, optedOut: &optedOut)
            }
            func readSlice() throws {
                let slice = SliceMembers()
                try lines.submit(bytes: 0) { [elements] in reading.read(elements, into: slice) }
                try lines.flush()
                let next = (slice, elementsRead - elements.count, ranges, lines.submitted)
                elements.removeAll(keepingCapacity: true)
                ranges.removeAll(keepingCapacity: true)
                try exportPrevious()
                previous = next
            }
            elements.reserveCapacity(sliceSize)
            ranges.reserveCapacity(sliceSize)
            let complete = try ResourceScan.forEachElement(in: group, array: members) { range in
                elements.append(group.bytes(range))
                ranges.append(range)
                elementsRead += 1
                if elements.count == sliceSize { try readSlice() }
            }
            guard complete else { throw ExportFailure(reason: .groupMalformed(group: "\(groupKey)")) }
            try readSlice()
            try exportPrevious()
            try followPendingReferences()
        }
        optedOutMembers = optedOut.count
        if groupWanted {
            for property in scan.properties where property.key != "member" && !redactionMayChangeGroup {
                redactionMayChangeGroup = group.bytes(property.value).withUnsafeBytes {
                    redactor.mayChange(type: "Group", property: property.key, value: $0)
                }
            }
            try exportGroup(group, scan: scan, redactionMayChange: redactionMayChangeGroup, optedOut: optedOut)
        }
        if let since = request.since { try writeDeletions(since: since, requested: requested) }
        if let requested {
            for patient in requested.sorted() where !requestedFound.contains(patient) {
                errors.append(OperationOutcome.single(severity: .information, code: .notFound,
                                                      diagnostics: "\(patient) is not an exported member of \(groupKey)"))
            }
        }
    }

    public func progress() -> String {
        "exporting: \(membersSeen) of \(memberCount) members, \(written) resources written"
    }

    // MARK: Members

    private func requestedPatients() -> Set<ResourceKey>? {
        guard !request.patients.isEmpty else { return nil }
        var keys = Set<ResourceKey>()
        for reference in request.patients {
            if let key = ResourceKey.parse(reference: reference, baseURL: settings.publicBaseURL), key.type == "Patient" {
                keys.insert(key)
            } else {
                errors.append(OperationOutcome.single(severity: .information, code: .value,
                                                      diagnostics: "patient '\(reference)' is not a reference to a Patient on this server"))
            }
        }
        return keys
    }

    /// A slice of the Group's member elements, in list order (nil: not a member this server
    /// reads), with their bytes' ranges: the same files, in the same order, as exporting them
    /// one by one, with each kind of lookup made once for the slice.
    private func exportMembers(_ slice: [GroupMember?], firstElement: Int, ranges: [Range<Int>], requested: Set<ResourceKey>?,
                               requestedFound: inout Set<ResourceKey>, optedOut: inout Set<String>) throws {
        // One read of the reference index for the slice: opt-outs for every member, requested or
        // not (the exported Group must never list an opted-out member), and each one's own resources.
        let listed = slice.compactMap { $0?.patient }
        // `_since`: who is a member now (for the departed members), and who was one then.
        var earlierMemberIds = Set<String>()
        if request.since != nil {
            try snapshot.noteMembers(listed, earlier: false)
            earlierMemberIds = try snapshot.earlierMemberIds(among: listed)
        }
        let links: [MemberLink] = wanted.contains("RelatedPerson") ? [.consent, .coverage, .relatedPerson] : [.consent, .coverage]
        let linked = listed.isEmpty ? links.map { _ in [:] } : try snapshot.referencing(listed, links)
        let optedOutNow = try optedOutPatients(consents: linked[0])
        let coverages = linked[1], related = links.count > 2 ? linked[2] : [:]
        // Each element's turn: nil when left out, else whether the member is exported whole.
        var whole: [Bool?] = []
        for (offset, member) in slice.enumerated() {
            guard let member else { whole.append(nil); continue }
            if optedOutNow.contains(member.patient) {
                optedOut.insert(member.patient.id)
                optedOutElements?.append(GroupLine.Dropped(index: firstElement + offset, range: ranges[offset]))
                whole.append(nil)
                continue
            }
            if let requested {
                guard requested.contains(member.patient) else { whole.append(nil); continue }
                // Only a `patient` list is checked for what was not found: without one, no set of members is kept.
                requestedFound.insert(member.patient)
            }
            // A member who joined since `_since` is exported whole: the provider has nothing of theirs yet.
            whole.append(request.since != nil ? !earlierMemberIds.contains(member.patient.id) : false)
        }
        let patients = zip(slice, whole).compactMap { $1 == nil ? nil : $0?.patient }
        // Each exported member's own resources (Patient, Coverages, RelatedPersons) in the order written.
        let owned: [[ResourceKey]] = zip(slice, whole).map { member, whole in
            guard let member, whole != nil else { return [] }
            var keys = [member.patient] + (coverages[member.patient] ?? [])
            keys += member.coverageReferences.filter { !keys.contains($0) }
            return keys + (related[member.patient] ?? [])
        }
        let rows = patients.isEmpty ? [:] : try snapshot.currentResources(Array(owned.joined()))
        // Once per export, subject to `_since`/`_until` unless the member is exported `whole`;
        // marked only when written: a Coverage shared with a member who did not change is still
        // written whole for a member who joined since `_since`.
        func isWritten(_ key: ResourceKey, _ row: ExportRow, whole: Bool) -> Bool {
            wanted.contains(key.type) && (whole || inWindow(row.lastUpdated))
        }
        var candidates: [ExportMark] = []
        for (keys, whole) in zip(owned, whole) {
            guard let whole else { continue }
            for key in keys { if let row = rows[key], isWritten(key, row, whole: whole) { candidates.append(row.mark) } }
        }
        var unwritten = candidates.isEmpty ? [] : try snapshot.markExported(candidates)
        try followPendingReferences()
        // The additional resources a member's own resource references are followed either way.
        let follows = followsReferences(depth: 1)
        let references = SliceReferences()
        let finisher = finisher
        for index in slice.indices {
            membersSeen += 1
            guard let member = slice[index], let whole = whole[index] else { continue }
            for key in owned[index] {
                guard let row = rows[key] else { continue }
                let writes = isWritten(key, row, whole: whole) && unwritten.remove(row.mark) != nil
                let slot = follows ? references.nextResource() : nil
                guard writes || slot != nil else { continue }
                try lines.submit(bytes: row.json.count) {
                    if writes { try finisher.write(key.type, row.json) }
                    if let slot { references.found(finisher.references(key.type, row.json), slot: slot) }
                }
                if writes { try countWritten() }
            }
            for provider in member.attributedProviders { references.provider(provider) }
        }
        references.ticket = lines.submitted
        pendingReferences = references
        // The slice's last lines start while the next slice is looked up.
        try lines.flush()
    }

    /// The previous slice's references, in the order its members and resources came, once the
    /// line stage has run that slice's works (not the works submitted since: the next slice's
    /// member reading may still run).
    private func followPendingReferences() throws {
        guard let references = pendingReferences else { return }
        pendingReferences = nil
        try lines.wait(forFirst: references.ticket)
        try references.forEach { try exportAdditional($0, depth: 1) }
    }

    /// The patients whose Consents (by patient) opt them out.
    private func optedOutPatients(consents consentKeys: [ResourceKey: [ResourceKey]]) throws -> Set<ResourceKey> {
        guard !consentKeys.isEmpty else { return [] }
        let rows = try snapshot.currentResources(Array(consentKeys.values.joined()))
        var optedOut = Set<ResourceKey>()
        for (patient, keys) in consentKeys {
            let consents: [JSONObject] = try keys.compactMap { key in
                guard let row = rows[key], case .object(let consent) = try JSONParser.parse(row.json) else { return nil }
                return consent
            }
            if ConsentEvaluation.isOptedOut(consents: consents, now: now) { optedOut.insert(patient) }
        }
        return optedOut
    }

    private func isOptedOut(_ patient: ResourceKey) throws -> Bool {
        try optedOutPatients(consents: snapshot.referencing([patient], [.consent])[0]).contains(patient)
    }

    private func inWindow(_ lastUpdated: FHIRInstant) -> Bool {
        if let since = request.since, lastUpdated < since { return false }
        if let until = request.until, lastUpdated > until { return false }
        return true
    }

    // MARK: `_since` member changes

    /// Notes the members of the Group as it stood at `since`. Without that version (the Group
    /// is newer, or the version was pruned) nobody was a member then: every member is new.
    private func noteEarlierMembers(_ groupKey: ResourceKey, at since: FHIRInstant) throws {
        guard let stored = try snapshot.group(groupKey, at: since) else { return }
        let earlier = GroupWindow(stored)
        guard let scan = ResourceScan(earlier), let members = scan.value("member") else { return }
        let atrGroup = ATRMembership.isATRGroup(ATRMembership.metaAndExtensions(scan, earlier))
        var patients: [ResourceKey] = []
        patients.reserveCapacity(sliceSize)
        _ = try ResourceScan.forEachElement(in: earlier, array: members) { range in
            guard case .object(let element)? = try? JSONParser.parse(earlier.bytes(range)),
                  let member = ATRMembership.member(element, atrGroup: atrGroup, now: since, baseURL: settings.publicBaseURL) else { return }
            patients.append(member.patient)
            if patients.count == sliceSize {
                try snapshot.noteMembers(patients, earlier: true)
                patients.removeAll(keepingCapacity: true)
            }
        }
        try snapshot.noteMembers(patients, earlier: true)
        if let failure = earlier.readFailure { throw failure }
    }

    /// The manifest's `deleted`: members who left the list since `since`, and the member
    /// resources (Patient, Coverage, RelatedPerson of an earlier or current member) deleted
    /// since then — each once, as a Bundle with one DELETE entry (Bulk Data 2.0).
    private func writeDeletions(since: FHIRInstant, requested: Set<ResourceKey>?) throws {
        // A member who opted out is never named: not while listed, not after leaving.
        try snapshot.forEachDepartedMember { patient in
            if let requested, !requested.contains(patient) { return }
            if try isOptedOut(patient) { return }
            try writeDeleted(patient)
        }
        let types = ATRTypes.memberOwned.filter { wanted.contains($0) }
        try snapshot.forEachDeletion(since: since, types: types) { key, before in
            let patients: [ResourceKey]
            if key.type == "Patient" {
                patients = [key]
            } else {
                guard let before, case .object(let resource) = try JSONParser.parse(before) else { return }
                let link = key.type == "Coverage" ? MemberLink.coverage : MemberLink.relatedPerson
                patients = ReferenceIndexing.references(in: resource, baseURL: settings.publicBaseURL)
                    .filter { link.paths.contains($0.path) && $0.target.type == "Patient" }.map(\.target)
            }
            for patient in patients {
                if let requested, !requested.contains(patient) { continue }
                if try isOptedOut(patient) { continue }
                let noted = try snapshot.notedMember(patient)
                if noted.earlier || noted.current {
                    try writeDeleted(key)
                    return
                }
            }
        }
    }

    private func writeDeleted(_ key: ResourceKey) throws {
        // Bounded by what changed since `_since`, not by the list.
        guard deletedWritten.insert(key).inserted else { return }
        let bundle: JSONValue = [
            "resourceType": "Bundle", "type": "transaction",
            "entry": [["request": ["method": "DELETE", "url": .string(key.description)]]],
        ]
        try withOutput { try $0.write(type: "Bundle", line: bundle.serialized(), fileStem: "deleted") }
    }

    // MARK: Additional resources

    /// `references` (given the base URL) is only scanned within the depth limit. Its callers
    /// name concrete bytes (`[UInt8]`, `GroupWindow`): a scan over a generic argument of this
    /// generic engine would not be specialised.
    private func followReferences(depth: Int, _ references: (String) -> [ResourceKey]) throws {
        guard followsReferences(depth: depth) else { return }
        for key in references(settings.publicBaseURL) { try exportAdditional(key, depth: depth) }
    }

    private func followsReferences(depth: Int) -> Bool {
        depth <= settings.bulkDataExport.additionalResourcesMaxRecursionDepth
    }

    /// A referenced Practitioner, PractitionerRole, Organization or Location of a requested
    /// type, written once; its own references are followed up to the configured depth.
    private func exportAdditional(_ key: ResourceKey, depth: Int) throws {
        // Only provider-directory types: a reference must never carry a non-member's Patient out.
        guard depth <= settings.bulkDataExport.additionalResourcesMaxRecursionDepth,
              ExportReferences.targetTypes.contains(key.type), wanted.contains(key.type) else { return }
        if let previous = followedDepth[key], previous <= depth { return }
        followedDepth[key] = depth
        guard let row = try snapshot.currentResources([key])[key] else { return }
        if try !snapshot.markExported([row.mark]).isEmpty {
            try emit(key.type, row.json)
        }
        try followReferences(depth: depth + 1) { _ in referenceReader.additionalReferences(type: key.type, json: row.json) }
    }

    // MARK: The Group

    /// The Group as stored, without opted-out members, subset by `_elements` and redacted (then
    /// tagged SUBSETTED). Unchanged, it is copied from the stored bytes; changed, GroupLine
    /// writes it in two passes over them, member by member, so a big list is never in memory
    /// whole — unless a redaction must see the whole resource (see GroupLine).
    private func exportGroup(_ group: GroupWindow, scan: ResourceScan, redactionMayChange: Bool, optedOut: Set<String>) throws {
        try followReferences(depth: 1) { ExportReferences.additionalReferences(type: "Group", scan: scan, json: group, baseURL: $0) }
        guard inWindow(group.lastUpdated) else { return }
        let subsetByElements = request.elements.contains { $0.type == nil || $0.type == "Group" }
        func writeStored() throws {
            try withOutput { output in
                try output.write(type: "Group", length: group.count) { writer in try group.forEachPiece(of: 0..<group.count) { try writer.append($0) } }
            }
            try countWritten()
        }
        if optedOut.isEmpty && !subsetByElements && !redactionMayChange { return try writeStored() }
        if let line = GroupLine(group: group, properties: scan.properties,
                                kept: subsetByElements ? Subsetting.keptElements(type: "Group", selectors: request.elements) : nil,
                                redactor: redactionMayChange ? redactor : nil, optedOut: optedOut,
                                droppedMembers: optedOutElements, baseURL: settings.publicBaseURL) {
            guard line.changed else { return try writeStored() }
            try withOutput { output in try output.write(type: "Group", length: line.length) { writer in try line.write { try writer.append($0) } } }
            return try countWritten()
        }
        // What GroupLine cannot do on bytes: the Group assembled, then `_elements` and redaction on the whole.
        var pieces = LinePieces(group)
        if optedOut.isEmpty {
            pieces.stored(0..<group.count)
        } else {
            pieces = try subsettedGroup(group, optedOut: optedOut)
        }
        if subsetByElements || redactionMayChange {
            var line: [UInt8] = []
            line.reserveCapacity(pieces.count)
            pieces.forEach { line.append(contentsOf: $0) }
            try emit("Group", line)
        } else {
            try withOutput { output in try output.write(type: "Group", length: pieces.count) { writer in try pieces.forEach { try writer.append($0) } } }
            try countWritten()
        }
    }

    /// The stored Group's bytes, in order, minus opted-out members, plus the SUBSETTED tag.
    private func subsettedGroup(_ group: GroupWindow, optedOut: Set<String>) throws -> LinePieces<GroupWindow> {
        guard let scan = ResourceScan(group) else { throw ExportFailure(reason: .groupMalformed(group: "Group/\(request.groupId)")) }
        var pieces = LinePieces(group)
        pieces.literal("{")
        var first = true
        func property(_ key: String) {
            if !first { pieces.literal(",") }
            first = false
            pieces.literal(JSONValue.string(key).serialized() + [UInt8(ascii: ":")])
        }
        var metaWritten = false
        for entry in scan.properties {
            switch entry.key {
            case "meta":
                guard case .object(let meta)? = try? JSONParser.parse(group.bytes(entry.value)) else {
                    throw ExportFailure(reason: .groupMalformed(group: "Group/\(request.groupId)"))
                }
                var holder = JSONObject([("meta", .object(meta))])
                Subsetting.addSubsettedTag(&holder)
                property("meta")
                pieces.literal(holder["meta"].map { $0.serialized() } ?? [])
                metaWritten = true
            case "member":
                var kept: [Range<Int>] = []
                _ = ResourceScan.forEachElement(in: group, array: entry.value) { range in
                    let element = try? JSONParser.parse(group.bytes(range))
                    if Subsetting.keepsMember(element, optedOut: optedOut, baseURL: settings.publicBaseURL) { kept.append(range) }
                }
                guard !kept.isEmpty else { continue }
                property("member")
                pieces.literal("[")
                for (index, range) in kept.enumerated() {
                    if index > 0 { pieces.literal(",") }
                    pieces.stored(range)
                }
                pieces.literal("]")
            default:
                property(entry.key)
                pieces.stored(entry.value)
            }
        }
        pieces.literal("}")
        if !metaWritten {
            // Stored resources always have meta (the server stamps it); keep the rule total anyway.
            var line: [UInt8] = []
            pieces.forEach { line.append(contentsOf: $0) }
            guard case .object(var whole) = try JSONParser.parse(line) else { return pieces }
            Subsetting.addSubsettedTag(&whole)
            var tagged = LinePieces(group)
            tagged.literal(JSONValue.object(whole).serialized())
            return tagged
        }
        return pieces
    }

    // MARK: Writing

    /// One resource line, finished and written by the line stage (counted when submitted).
    private func emit(_ type: ResourceType, _ json: [UInt8]) throws {
        let finisher = finisher
        try lines.submit(bytes: json.count) { try finisher.write(type, json) }
        try countWritten()
    }

    private func countWritten() throws {
        written += 1
        if written % settings.bulkDataExport.batchSize == 0 {
            try checkpoint(progress())
        }
    }
}

/// How the line stage reads a slice's member elements (the export's thread has copied their bytes).
private struct MemberReading: Sendable {
    let atrGroup: Bool
    let now: FHIRInstant
    let baseURL: String
    /// Set when the Group is exported: whether redaction may change a member element.
    let redactor: Redactor?

    func read(_ elements: [[UInt8]], into slice: SliceMembers) {
        slice.members = elements.map { ATRMembership.member(stored: $0, atrGroup: atrGroup, now: now, baseURL: baseURL) }
        if let redactor {
            slice.redactionMayChange = elements.contains { element in
                element.withUnsafeBytes { redactor.mayChange(type: "Group", property: "member", value: $0) }
            }
        }
    }
}

/// A slice's members as the line stage read them; read by the export once that work has run.
private final class SliceMembers: @unchecked Sendable {
    var members: [GroupMember?] = []
    var redactionMayChange = false
}

/// What the line stage's works do with a resource line: `_elements`, redaction, the write, and
/// finding the references to follow. Used by the stage alone (the reader's cache is its own).
private final class LineFinisher<Files: ExportFiles>: @unchecked Sendable {
    private let output: NDJSONOutput<Files>
    private let elements: [ElementSelector]
    private let redactor: Redactor
    private var reader: ExportReferenceReader
    /// The references `references` has answered: followed at depth 1 once, a second time is a
    /// no-op for the export (bounded by the distinct provider-directory references of the
    /// members' resources, like the export's own record, dangling ones included).
    private var answered = Set<ResourceKey>()

    init(output: NDJSONOutput<Files>, elements: [ElementSelector], redactor: Redactor, baseURL: String) {
        self.output = output
        self.elements = elements
        self.redactor = redactor
        reader = ExportReferenceReader(baseURL: baseURL)
    }

    func write(_ type: ResourceType, _ json: [UInt8]) throws {
        try output.write(type: type, line: finishedLine(type, json))
    }

    /// The additional resources `json` references that no earlier call answered.
    func references(_ type: ResourceType, _ json: [UInt8]) -> [ResourceKey] {
        reader.additionalReferences(type: type, json: json).filter { answered.insert($0).inserted }
    }

    /// `_elements`, then redaction; bytes pass through untouched when neither changes anything.
    private func finishedLine(_ type: ResourceType, _ json: [UInt8]) throws -> [UInt8] {
        var line = json
        if elements.contains(where: { $0.type == nil || $0.type == type }),
           case .object(let resource) = try JSONParser.parse(json) {
            let (subset, changed) = Subsetting.applyElements(resource, selectors: elements)
            if changed { line = JSONValue.object(subset).serialized() }
        }
        // `ResourceRedactionOptions`: nil means nothing to omit (decided without parsing when
        // the bytes hold none of the property names a selected element could have).
        if let redacted = try redactor.redact(type: type, json: line) { line = redacted }
        return line
    }
}

/// A slice's references to follow at depth 1, in the order the export meets them: each member
/// resource's (found by the line stage's works, which run in the order submitted, so the n-th
/// resource's are the n-th found) and each member's attributed providers.
private final class SliceReferences: @unchecked Sendable {
    private enum Step { case resource(Int), provider(ResourceKey) }
    // The export's thread's.
    private var steps: [Step] = []
    private var resources = 0
    /// The line stage's works up to the slice's last (`LineStage.submitted` after it).
    var ticket = 0
    // The line stage's; read by the export's thread once the works up to `ticket` have run.
    private var foundKeys: [[ResourceKey]] = []

    /// The slot of the next member resource's references (called on the export's thread).
    func nextResource() -> Int {
        steps.append(.resource(resources))
        resources += 1
        return resources - 1
    }

    func provider(_ key: ResourceKey) { steps.append(.provider(key)) }

    /// Called by the line stage's work for `slot`, slots in order.
    func found(_ keys: [ResourceKey], slot: Int) {
        precondition(slot == foundKeys.count, "references found out of order")
        foundKeys.append(keys)
    }

    func forEach(_ body: (ResourceKey) throws -> Void) rethrows {
        for step in steps {
            switch step {
            case .resource(let slot): for key in foundKeys[slot] { try body(key) }
            case .provider(let key): try body(key)
            }
        }
    }
}
