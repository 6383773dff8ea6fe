import Foundation
import Logging
import XCTest
@testable import Runtime

/// `LineLogHandler` writes the lines swift-log's `StreamLogHandler` wrote before it (operators'
/// log searches and the e2e tests read them), one `write` each.
final class LineLogHandlerTests: XCTestCase {
    /// What `StreamLogHandler` writes for the same events, into a string.
    private final class Captured: TextOutputStream, @unchecked Sendable {
        var text = ""
        func write(_ string: String) { text += string }
    }

    private func lines(_ log: (Logger) -> Void) throws -> (line: [String], stream: [String]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("atr-log-\(UUID().uuidString)").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var lineHandler = LineLogHandler(label: "atr-fcgi", descriptor: descriptor)
        lineHandler.metadata = ["node": "a", "request-id": "overridden"]
        log(Logger(label: "atr-fcgi") { _ in lineHandler })
        close(descriptor)
        let written = try String(contentsOfFile: path, encoding: .utf8)

        let captured = Captured()
        var streamHandler = StreamLogHandler(label: "atr-fcgi", stream: captured, metadataProvider: nil)
        streamHandler.metadata = ["node": "a", "request-id": "overridden"]
        log(Logger(label: "atr-fcgi") { _ in streamHandler })
        return (Self.withoutTimestamps(written), Self.withoutTimestamps(captured.text))
    }

    /// Both print the local time to the second; a test running across a second boundary would
    /// see two, so the timestamps are compared by shape only.
    private static func withoutTimestamps(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return String(line) }
            XCTAssertNotNil(parts[0].wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/), "timestamp of \(line)")
            return "<time> " + parts[1]
        }
    }

    func testLinesAreStreamLogHandlersLines() throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused" } }
        let (line, stream) = try lines { logger in
            logger.info("request", metadata: ["status": "200", "route": "/fhir/$exportstatus?_id", "request-id": "abc"])
            logger.warning("no metadata of its own")
            logger.debug("below the level: not written")
            logger.error("failed", metadata: ["list": ["x", "y"]])  // no nested dictionary: each instance prints its own order
            logger.critical("thrown", error: Refused())
        }
        XCTAssertEqual(line, stream)
        XCTAssertEqual(line.count, 5, "four lines and the empty rest after the last newline")
        XCTAssertEqual(line.first, "<time> info atr-fcgi: node=a request-id=abc route=/fhir/$exportstatus?_id status=200 [FHIRServiceTests] request")
        XCTAssertEqual(line.last, "")
    }

    func testALongLineIsWrittenWhole() throws {
        let value = String(repeating: "x", count: 200_000)
        let (line, stream) = try lines { logger in logger.info("long", metadata: ["value": .string(value)]) }
        XCTAssertEqual(line, stream)
        XCTAssertEqual(line.first?.count, "<time> info atr-fcgi: node=a request-id=overridden value= [FHIRServiceTests] long".count + value.count)
    }
}
