import ExportDomain
import Foundation
import Logging
import Runtime
import Storage
import XCTest
@testable import FHIRService

final class ServiceMetricsTests: XCTestCase {
    private var directory: URL!
    private var service: FHIRService!
    private let clock = TestClock(FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123))

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("atr-metrics-\(UUID().uuidString)")
        var settings = try SettingsBuilder.build(layers: [], environment: [:])
        settings.databasePath = directory.appendingPathComponent("db/atr.sqlite").path
        settings.smart.enabled = false
        let ids = IdSequence()
        let clock = clock
        try ConfigurationLoader.openDatabase(settings, migrating: true).migrate()
        service = FHIRService(settings: settings, database: try ConfigurationLoader.openDatabase(settings),
                              security: try SecurityContext(settings: settings.smart, logger: Logger(label: "test")),
                              environment: ServiceEnvironment(now: { clock.now }, newId: { ids.next() }),
                              pollPacer: PollPacer(), metrics: ServiceMetrics(), logger: Logger(label: "test"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func send(_ method: String, _ path: String, body: String = "", metricsListener: Bool = false) -> HTTPResponse {
        service.handle(HTTPRequest(method: method, path: path, query: "", headers: ["content-type": "application/fhir+json",
                                                                                     "accept": "application/fhir+json", "prefer": "respond-async"],
                                   body: Array(body.utf8), fromMetricsListener: metricsListener))
    }

    private func scrape() -> [String] {
        let response = send("GET", "/metrics", metricsListener: true)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return String(decoding: response.body, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func testRoutesAreShapesWithoutIds() {
        let cases = [
            ("/fhir/Patient/p1", "Patient/{id}"), ("/fhir/Group/g/$davinci-data-export", "Group/{id}/$davinci-data-export"),
            ("/fhir/$exportstatus", "$exportstatus"), ("/fhir/Group/g/_history/3", "Group/{id}/_history/{vid}"),
            ("/fhir/Nope/x", "{unknown}/{id}"), ("/fhir/Group/g/$whatever", "Group/{id}/$other"), ("/fhir", "{base}"),
            ("/fhir/metadata", "metadata"), ("/auth/token", "/auth/token"), ("/elsewhere", "other"), ("/fhir/a/b/c/d/e", "other"),
        ]
        for (path, label) in cases { XCTAssertEqual(MetricsRoute.label(path: path, basePath: "/fhir"), label, path) }
    }

    func testRequestsQueueAndExportFiguresAreExposedOnlyToTheMetricsListener() throws {
        XCTAssertEqual(send("GET", "/metrics").status, 404, "the public server never reaches the metrics")
        XCTAssertEqual(send("PUT", "/fhir/Group/g1", body: #"{"resourceType":"Group","id":"g1","type":"person","actual":true}"#).status, 201)
        XCTAssertEqual(send("GET", "/fhir/Group/g1").status, 200)
        XCTAssertEqual(send("GET", "/fhir/Group/g1").status, 200, "counted again through the thread's own handle on the counter")
        XCTAssertEqual(send("GET", "/fhir/Group/nope").status, 404)
        XCTAssertEqual(send("GET", "/fhir/Group/g1/$davinci-data-export").status, 202)
        XCTAssertEqual(send("POST", "/auth/token", body: "grant_type=password").status / 100, 4)
        let database = service.database
        try database.recordAudit(ExportAudit.completed(
            taskId: "id-1", request: ExportRequest(groupId: "g1", types: ATRTypes.required, typesRequested: false), clientId: nil,
            manifest: ExportManifest(transactionTime: "t", request: "r",
                                     output: [ExportManifest.File(type: "Patient", name: "a", count: 7),
                                              ExportManifest.File(type: "Group", name: "b", count: 1)], error: []),
            optedOutMembers: 0, now: FHIRInstant(millisecondsSinceEpoch: clock.now.millisecondsSinceEpoch + 42_000)))
        clock.advance(milliseconds: 90_000)
        let lines = scrape()
        for expected in [
            #"atr_http_requests_total{route="Group/{id}",status="201"} 1"#,
            #"atr_http_requests_total{route="Group/{id}",status="200"} 2"#,
            #"atr_http_request_duration_seconds_count{route="Group/{id}"} 4"#,
            #"atr_http_requests_total{route="Group/{id}",status="404"} 1"#,
            #"atr_http_requests_total{route="Group/{id}/$davinci-data-export",status="202"} 1"#,
            #"atr_tasks{state="queued"} 1.0"#, #"atr_tasks{state="complete"} 0.0"#, "atr_queue_depth 1.0",
            "atr_queue_oldest_age_seconds 90.0", #"atr_tokens_total{outcome="refused"} 1"#,
            #"atr_exports_total{outcome="complete"} 1"#,
            #"atr_export_resources_total{type="Patient"} 7"#, #"atr_export_resources_total{type="Group"} 1"#,
            #"atr_export_duration_seconds_bucket{le="30.0"} 0"#, #"atr_export_duration_seconds_bucket{le="60.0"} 1"#,
            "atr_export_duration_seconds_count 1",
        ] {
            XCTAssertTrue(lines.contains(expected), "\(expected) not in:\n\(lines.joined(separator: "\n"))")
        }
        XCTAssertEqual(scrape().filter { $0.hasPrefix("atr_exports_total") }, [#"atr_exports_total{outcome="complete"} 1"#],
                       "a second scrape counts each audit record once")
    }
}
