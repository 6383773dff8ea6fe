import ExportDomain
import Foundation
import Logging
import Runtime
import Storage
import XCTest
@testable import FHIRService

/// The configurable limits answered by atr-fcgi itself: JSON body shape, `patient` list length,
/// Group size, and status polls sooner than `Retry-After`.
final class RequestLimitsTests: XCTestCase {
    private var directory: URL!
    private var service: FHIRService!
    private let clock = TestClock(FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123))

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("atr-limits-\(UUID().uuidString)")
        var settings = try SettingsBuilder.build(layers: [], environment: [:])
        settings.databasePath = directory.appendingPathComponent("db/atr.sqlite").path
        settings.smart.enabled = false
        settings.requestJSONLimits = JSONBodyLimits(maxDepth: 10, maxElements: 1000)
        settings.bulkDataExport.maxPatients = 3
        settings.bulkDataExport.maxGroupMembers = 2
        settings.bulkDataExport.earlyPollsAllowed = 2
        settings.bulkDataExport.repeatPeriodMilliseconds = 3000
        let ids = IdSequence()
        let clock = clock
        let environment = ServiceEnvironment(now: { clock.now }, newId: { ids.next() })
        try ConfigurationLoader.openDatabase(settings, migrating: true).migrate()
        service = FHIRService(settings: settings, database: try ConfigurationLoader.openDatabase(settings),
                              security: try SecurityContext(settings: settings.smart, logger: Logger(label: "test")),
                              environment: environment, pollPacer: PollPacer(), logger: Logger(label: "test"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func send(_ method: String, _ path: String, query: String = "", body: String = "",
                      headers: [String: String] = ["content-type": "application/fhir+json"]) -> HTTPResponse {
        service.handle(HTTPRequest(method: method, path: path, query: query, headers: headers, body: Array(body.utf8)))
    }

    private func issue(_ response: HTTPResponse) -> (code: String?, diagnostics: String) {
        let issue = (try? JSONParser.parse(response.body))?["issue"]?.arrayValue?.first
        return (issue?["code"]?.stringValue, issue?["diagnostics"]?.stringValue ?? "")
    }

    private func kickoff(_ groupId: String, method: String = "GET", body: String = "") -> HTTPResponse {
        var headers = ["accept": "application/fhir+json", "prefer": "respond-async"]
        if method == "POST" { headers["content-type"] = "application/fhir+json" }
        return send(method, "/fhir/Group/\(groupId)/$davinci-data-export", body: body, headers: headers)
    }

    private func group(_ id: String, members: Int) -> String {
        let member = (0..<members).map { #"{"entity":{"reference":"Patient/p\#($0)"}}"# }.joined(separator: ",")
        return #"{"resourceType":"Group","id":"\#(id)","type":"person","actual":true,"member":[\#(member)]}"#
    }

    func testABodyNestedDeeperThanTheLimitIs413BeforeItIsParsed() {
        func patient(nesting depth: Int) -> String {
            // The resource object and its extension array are two levels; each nested extension adds two.
            let inner = String(repeating: #"{"url":"u","extension":["#, count: depth) + String(repeating: "]}", count: depth)
            return #"{"resourceType":"Patient","id":"p1","extension":["# + inner + "]}"
        }
        // 2 + 2 × 5 = 12 levels.
        let refused = send("PUT", "/fhir/Patient/p1", body: patient(nesting: 5))
        XCTAssertEqual(refused.status, 413)
        XCTAssertEqual(issue(refused).code, "too-costly")
        XCTAssertEqual(issue(refused).diagnostics, "The JSON body nests objects and arrays deeper than 10 levels (RequestJsonLimits.MaxDepth)")
        // 10 levels are within the limit (the resource itself is then judged on its own terms).
        XCTAssertEqual(send("PUT", "/fhir/Patient/p1", body: patient(nesting: 4)).status, 201)
    }

    func testABodyWithMoreValuesThanTheLimitIs413() {
        let names = (0..<999).map { _ in #"{"text":"x"}"# }.joined(separator: ",")
        // resource object 1 + id 1 + resourceType 1 + name array 1 + 999 × (object + string) > 1000.
        let refused = send("PUT", "/fhir/Patient/p1", body: #"{"resourceType":"Patient","id":"p1","name":["# + names + "]}")
        XCTAssertEqual(refused.status, 413)
        XCTAssertEqual(issue(refused).diagnostics, "The JSON body has more than 1000 values (RequestJsonLimits.MaxElements)")
        let fewer = (0..<400).map { _ in #"{"text":"x"}"# }.joined(separator: ",")
        XCTAssertEqual(send("PUT", "/fhir/Patient/p1", body: #"{"resourceType":"Patient","id":"p1","name":["# + fewer + "]}").status, 201)
    }

    func testAKickoffNamingMorePatientsThanTheLimitIs413() {
        XCTAssertEqual(send("PUT", "/fhir/Group/g1", body: group("g1", members: 1)).status, 201)
        func body(_ count: Int) -> String {
            let entries = (0..<count).map { #"{"name":"patient","valueReference":{"reference":"Patient/p\#($0)"}}"# }
            return #"{"resourceType":"Parameters","parameter":["# + entries.joined(separator: ",") + "]}"
        }
        let refused = kickoff("g1", method: "POST", body: body(4))
        XCTAssertEqual(refused.status, 413)
        XCTAssertEqual(issue(refused).code, "too-costly")
        XCTAssertEqual(issue(refused).diagnostics,
                       "The kick-off names more than 3 patients (BulkDataExport.MaxPatients); export the whole Group instead")
        XCTAssertEqual(kickoff("g1", method: "POST", body: body(3)).status, 202)
    }

    func testAGroupWithMoreMembersThanTheLimitIsRefusedAtKickoffWith422() {
        XCTAssertEqual(send("PUT", "/fhir/Group/big", body: group("big", members: 3)).status, 201)
        XCTAssertEqual(send("PUT", "/fhir/Group/small", body: group("small", members: 2)).status, 201)
        let refused = kickoff("big")
        XCTAssertEqual(refused.status, 422)
        XCTAssertEqual(issue(refused).code, "too-costly")
        XCTAssertEqual(issue(refused).diagnostics, "Group/big has 3 members; one export takes at most 2 (BulkDataExport.MaxGroupMembers)")
        let accepted = kickoff("small")
        XCTAssertEqual(accepted.status, 202)
        XCTAssertEqual(accepted.header("Content-Location"), "https://localhost:8443/fhir/$exportstatus?_id=id-1",
                       "the refused kick-off left no task")
    }

    func testPollsSoonerThanRetryAfterAreAnsweredUntilTheGraceIsUsedThen429() throws {
        XCTAssertEqual(send("PUT", "/fhir/Group/g1", body: group("g1", members: 1)).status, 201)
        XCTAssertEqual(kickoff("g1").status, 202)
        func poll() -> HTTPResponse { send("GET", "/fhir/$exportstatus", query: "_id=id-1", headers: [:]) }
        let first = poll()
        XCTAssertEqual(first.status, 202)
        XCTAssertEqual(first.header("Retry-After"), "3")
        XCTAssertEqual(first.header("X-Progress"), "queued: number 1 in the queue")
        XCTAssertEqual(kickoff("g1").status, 202)
        XCTAssertEqual(send("GET", "/fhir/$exportstatus", query: "_id=id-2", headers: [:]).header("X-Progress"),
                       "queued: number 2 in the queue", "claims go by creation time")
        clock.advance(milliseconds: 500)
        XCTAssertEqual(poll().status, 202, "first early poll: within the grace")
        clock.advance(milliseconds: 500)
        XCTAssertEqual(poll().status, 202, "second early poll: within the grace")
        clock.advance(milliseconds: 1000)
        let refused = poll()
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.header("Retry-After"), "2", "the rest of the 3 s since the last answered poll")
        XCTAssertEqual(issue(refused).code, "throttled")
        XCTAssertTrue(issue(refused).diagnostics.contains("BulkDataExport.EarlyPollsAllowed"), issue(refused).diagnostics)
        clock.advance(milliseconds: 2000)
        XCTAssertEqual(poll().status, 202, "a poll after the advertised time is answered")
        clock.advance(milliseconds: 3000)
        XCTAssertEqual(poll().status, 202, "polls on time never use up the grace")
    }
}

final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: FHIRInstant

    init(_ start: FHIRInstant) { current = start }

    var now: FHIRInstant { lock.withLock { current } }

    func advance(milliseconds: Int64) {
        lock.withLock { current = FHIRInstant(millisecondsSinceEpoch: current.millisecondsSinceEpoch + milliseconds) }
    }
}
