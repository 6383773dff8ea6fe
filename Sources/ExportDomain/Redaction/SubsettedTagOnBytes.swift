// SubsettedTagOnBytes.swift
//
// `Subsetting.addSubsettedTag` for a resource held as compact JSON bytes (the streaming
// redaction's output): only the root's `meta` is parsed and serialised again; every other
// member is copied. The placement is the tree version's: into `meta.tag`, or a new `meta`
// right after `id` (after `resourceType` when there is no `id`, else first).

enum SubsettedTagOnBytes {
    /// The resource with the tag, or nil when the bytes are not a JSON object this can read.
    static func adding(to json: [UInt8]) -> [UInt8]? {
        json.withUnsafeBytes { buffer -> [UInt8]? in
            var scanner = ResourceScan.Scanner(buffer)
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: "{")) else { return nil }
            var members: [(key: Range<Int>, member: Range<Int>, value: Range<Int>)] = []
            scanner.skipWhitespace()
            if !scanner.consume(UInt8(ascii: "}")) {
                while true {
                    let start = scanner.position
                    guard let key = scanner.stringRange() else { return nil }
                    scanner.skipWhitespace()
                    guard scanner.consume(UInt8(ascii: ":")) else { return nil }
                    scanner.skipWhitespace()
                    let valueStart = scanner.position
                    guard scanner.skipValue() else { return nil }
                    members.append(((key.lowerBound + 1)..<(key.upperBound - 1), start..<scanner.position, valueStart..<scanner.position))
                    scanner.skipWhitespace()
                    if scanner.consume(UInt8(ascii: ",")) { scanner.skipWhitespace(); continue }
                    guard scanner.consume(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            func index(of name: String) -> Int? {
                members.firstIndex { buffer[$0.key].elementsEqual(name.utf8) }
            }
            let metaIndex = index(of: "meta")
            if let metaIndex, let meta = Self.metaWithTag(UnsafeRawBufferPointer(rebasing: buffer[members[metaIndex].value])) {
                return Self.joined(buffer, members.enumerated().map { $0.offset == metaIndex ? .literal(meta) : .stored($0.element.member) })
            }
            var probe = JSONObject()
            if let metaIndex, buffer[members[metaIndex].value.lowerBound] == UInt8(ascii: "{") {
                guard let meta = try? JSONParser.parse(UnsafeRawBufferPointer(rebasing: buffer[members[metaIndex].value])) else { return nil }
                probe["meta"] = meta
            }
            let hadTag = Subsetting.hasSubsettedTag(probe)
            if hadTag { return json }
            let keptMeta = probe["meta"] != nil
            Subsetting.addSubsettedTag(&probe)
            guard let meta = probe["meta"] else { return nil }
            let metaMember = Array(#""meta":"#.utf8) + meta.serialized()

            var pieces: [Piece] = []
            for (i, member) in members.enumerated() {
                if i == metaIndex {
                    if keptMeta { pieces.append(.literal(metaMember)) }
                    continue
                }
                pieces.append(.stored(member.member))
            }
            if !keptMeta {
                let remaining = members.enumerated().filter { $0.offset != metaIndex }.map(\.element)
                let anchor = remaining.firstIndex { buffer[$0.key].elementsEqual("id".utf8) }
                    ?? remaining.firstIndex { buffer[$0.key].elementsEqual("resourceType".utf8) } ?? -1
                pieces.insert(.literal(metaMember), at: anchor + 1)
            }
            return Self.joined(buffer, pieces)
        }
    }

    private enum Piece {
        case stored(Range<Int>)
        case literal([UInt8])
    }

    private static func joined(_ buffer: UnsafeRawBufferPointer, _ pieces: [Piece]) -> [UInt8] {
        var result: [UInt8] = [UInt8(ascii: "{")]
        result.reserveCapacity(buffer.count + 128)
        for (i, piece) in pieces.enumerated() {
            if i > 0 { result.append(UInt8(ascii: ",")) }
            switch piece {
            case .stored(let range): result.append(contentsOf: buffer[range])
            case .literal(let bytes): result.append(contentsOf: bytes)
            }
        }
        result.append(UInt8(ascii: "}"))
        return result
    }

    private static let tagMember = Array(#""tag":["#.utf8)
        + JSONValue.object(JSONObject([("system", .string(Subsetting.tagSystem)), ("code", .string(Subsetting.tagCode)),
                                       ("display", .string(Subsetting.tagDisplay))])).serialized() + [UInt8(ascii: "]")]

    /// `"meta":` and the meta object with a `tag` member holding only the SUBSETTED tag, added
    /// last, when the object has no `tag` yet and is written as the serialiser would write it
    /// (no whitespace between tokens, no escapes), so the bytes equal the tree's; nil otherwise.
    private static func metaWithTag(_ meta: UnsafeRawBufferPointer) -> [UInt8]? {
        guard meta.count >= 2, meta.first == UInt8(ascii: "{"), meta.last == UInt8(ascii: "}"),
              let tag = ResourceScan.values(of: [Array("tag".utf8)], in: meta), tag[0] == nil else { return nil }
        var inString = false
        for byte in meta {
            if byte == UInt8(ascii: "\\") { return nil }
            if byte == UInt8(ascii: "\"") { inString.toggle() }
            if !inString, ResourceScan.Scanner<UnsafeRawBufferPointer>.isWhitespace(byte) { return nil }
        }
        var result = Array(#""meta":"#.utf8)
        result.reserveCapacity(result.count + meta.count + tagMember.count + 1)
        result.append(contentsOf: meta.dropLast())
        if meta.count > 2 { result.append(UInt8(ascii: ",")) }
        result.append(contentsOf: tagMember)
        result.append(UInt8(ascii: "}"))
        return result
    }
}
