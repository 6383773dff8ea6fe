import ExportDomain
import XCTest
@testable import ExportEngine

/// The engine's concrete window over a stored Group answers exactly what the Group does, at
/// window edges, backwards and past the end.
final class GroupWindowTests: XCTestCase {
    private let size = GroupWindow.windowSize * 2 + 12_345
    private lazy var stored: [UInt8] = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    private lazy var window = GroupWindow(InMemoryGroup(bytes: stored, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 7)))

    func testBytesForwardBackwardAndAcrossEdges() {
        let edge = GroupWindow.windowSize
        for index in [0, 1, edge - 1, edge, edge + 1, 5, size - 1, edge * 2, 3, size - 2] {
            XCTAssertEqual(window.byte(at: index), stored[index], "byte \(index)")
        }
        for range in [0..<10, (edge - 5)..<(edge + 5), (size - 100)..<size, 17..<(edge * 2 + 3), 0..<0] {
            XCTAssertEqual(window.bytes(range), Array(stored[range]), "bytes \(range)")
            var pieces: [UInt8] = []
            window.forEachPiece(of: range) { pieces.append(contentsOf: $0) }
            XCTAssertEqual(pieces, Array(stored[range]), "pieces \(range)")
        }
        XCTAssertEqual(window.count, size)
        XCTAssertEqual(window.lastUpdated, FHIRInstant(millisecondsSinceEpoch: 7))
        XCTAssertNil(window.readFailure)
    }

    func testTheQuoteSearchFindsTheFirstQuoteAcrossEdges() {
        let edge = GroupWindow.windowSize
        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: edge * 2 + 100)
        for quote in [3, edge - 1, edge + 7, edge * 2 + 99] { bytes[quote] = UInt8(ascii: "\"") }
        let window = GroupWindow(InMemoryGroup(bytes: bytes, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 0)))
        for (from, expected) in [(0, 3), (3, 3), (4, edge - 1), (edge - 1, edge - 1), (edge, edge + 7), (edge + 8, edge * 2 + 99)] {
            XCTAssertEqual(window.firstQuote(from: from), expected, "from \(from)")
        }
        _ = window.byte(at: edge * 2 + 50)
        XCTAssertEqual(window.firstQuote(from: 1), 3, "a search behind the window reads back")
        XCTAssertNil(window.firstQuote(from: edge * 2 + 100))
    }

    func testStringsWithEscapesAcrossAWindowEdgeScanAsInMemory() throws {
        // Escaped quotes and backslashes placed on both sides of every window edge.
        var members: [String] = []
        var length = 40
        while length < GroupWindow.windowSize * 2 + 200 {
            let note = String(repeating: "n", count: members.count % 7) + #"\"q\\"# + String(repeating: "m", count: members.count % 5)
            let member = #"{"entity":{"reference":"Patient/p\#(members.count)"},"note":"\#(note)"}"#
            members.append(member)
            length += member.utf8.count + 1
        }
        let json = Array(#"{"resourceType":"Group","member":[\#(members.joined(separator: ","))]}"#.utf8)
        let window = GroupWindow(InMemoryGroup(bytes: json, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 0)))
        let stored = try XCTUnwrap(ResourceScan(json)?.value("member"))
        let windowed = try XCTUnwrap(ResourceScan(window)?.value("member"))
        XCTAssertEqual(windowed, stored)
        var inMemory: [Range<Int>] = [], overWindow: [Range<Int>] = []
        XCTAssertTrue(ResourceScan.forEachElement(in: json, array: stored) { inMemory.append($0) })
        XCTAssertTrue(ResourceScan.forEachElement(in: window, array: windowed) { overWindow.append($0) })
        XCTAssertEqual(overWindow, inMemory)
        XCTAssertEqual(inMemory.count, members.count)
    }

    func testAScanOverTheWindowFindsWhatTheStoredBytesHold() throws {
        let members = (0..<30_000).map { #"{"entity":{"reference":"Patient/p\#($0)"}}"# }
        let json = Array(#"{"resourceType":"Group","id":"g","member":[\#(members.joined(separator: ","))],"active":true}"#.utf8)
        XCTAssertGreaterThan(json.count, GroupWindow.windowSize, "crosses a window edge")
        let window = GroupWindow(InMemoryGroup(bytes: json, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 0)))
        let scan = try XCTUnwrap(ResourceScan(window))
        XCTAssertEqual(scan.properties.map(\.key), ["resourceType", "id", "member", "active"])
        var seen: [String] = []
        XCTAssertTrue(ResourceScan.forEachElement(in: window, array: try XCTUnwrap(scan.value("member"))) { range in
            seen.append(String(decoding: window.bytes(range), as: UTF8.self))
        })
        XCTAssertEqual(seen, members)
    }

    /// A pass over a Group of several windows reads each window once: the scan, the member
    /// loop that copies each element (some run across a window's edge), and writing the Group
    /// around some of its members.
    func testAPassReadsEachWindowOnce() throws {
        // Elements longer than the bytes a refill keeps behind it (`lookBehind`), as ATR members are.
        let members = (0..<20_000).map {
            #"{"entity":{"reference":"Patient/p\#($0)"},"period":{"start":"2026-01-01","end":"2026-12-31"},"extension":[{"url":"http://example.org/attributed-provider","valueReference":{"reference":"Practitioner/d\#($0 % 97)"}}]}"#
        }
        let json = Array(#"{"resourceType":"Group","id":"g","member":[\#(members.joined(separator: ","))],"active":true}"#.utf8)
        let windows = (json.count + GroupWindow.windowSize - 1) / GroupWindow.windowSize
        XCTAssertEqual(windows, 4)
        let source = InMemoryGroup(bytes: json, lastUpdated: FHIRInstant(millisecondsSinceEpoch: 0))
        let window = GroupWindow(source)
        let scan = try XCTUnwrap(ResourceScan(window))
        XCTAssertLessThanOrEqual(source.reads, windows + 1, "the scan")
        var reads = source.reads
        var ranges: [Range<Int>] = []
        XCTAssertTrue(ResourceScan.forEachElement(in: window, array: try XCTUnwrap(scan.value("member"))) { range in
            XCTAssertEqual(window.bytes(range).count, range.count)
            ranges.append(range)
        })
        XCTAssertEqual(ranges.count, members.count)
        XCTAssertLessThanOrEqual(source.reads - reads, windows + 1, "the member loop")
        reads = source.reads
        var written: [UInt8] = []
        for (index, range) in ranges.enumerated() where index % 3 != 0 {
            window.forEachPiece(of: range) { written.append(contentsOf: $0) }
        }
        XCTAssertLessThanOrEqual(source.reads - reads, windows + 1, "the Group written around a third of its members")
        XCTAssertEqual(written, ranges.enumerated().filter { $0.offset % 3 != 0 }.flatMap { json[$0.element] })
    }
}
