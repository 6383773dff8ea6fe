import ExportDomain
import Foundation
import Logging
import Runtime
import Storage
import XCTest
@testable import FHIRService

final class FHIRServiceTests: XCTestCase {
    private var directory: URL!
    private var service: FHIRService!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("atr-service-\(UUID().uuidString)")
        var settings = try SettingsBuilder.build(layers: [], environment: [:])
        settings.databasePath = directory.appendingPathComponent("db/atr.sqlite").path
        settings.requestBodyLimit = 2048
        settings.smart.enabled = false
        let ids = IdSequence()
        let environment = ServiceEnvironment(now: { FHIRInstant(millisecondsSinceEpoch: 1_795_708_504_123) }, newId: { ids.next() })
        try ConfigurationLoader.openDatabase(settings, migrating: true).migrate()
        service = FHIRService(settings: settings, database: try ConfigurationLoader.openDatabase(settings),
                              security: try SecurityContext(settings: settings.smart, logger: Logger(label: "test")),
                              environment: environment, logger: Logger(label: "test"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func send(_ method: String, _ path: String, query: String = "", body: String? = nil,
                      contentType: String? = "application/fhir+json") -> (Int, String, HTTPResponse) {
        var headers: [String: String] = [:]
        if body != nil, let contentType { headers["content-type"] = contentType }
        let response = service.handle(HTTPRequest(method: method, path: path, query: query, headers: headers,
                                                  body: Array((body ?? "").utf8)))
        return (response.status, String(decoding: response.body, as: UTF8.self), response)
    }

    private func issueCode(_ body: String) -> String? {
        (try? JSONParser.parse(body))?["issue"]?.arrayValue?.first?["code"]?.stringValue
    }

    func testBearerTokenParsing() {
        XCTAssertEqual(SecurityContext.bearerToken("Bearer abc.def"), "abc.def")
        XCTAssertEqual(SecurityContext.bearerToken("bEaReR   abc \t"), "abc")
        XCTAssertNil(SecurityContext.bearerToken("Bearer"))
        XCTAssertNil(SecurityContext.bearerToken("Bearer "), "an empty token is no token")
        XCTAssertNil(SecurityContext.bearerToken("Bearerabc"))
        XCTAssertNil(SecurityContext.bearerToken("Basic YWxhZGRpbjpvcGVuc2VzYW1l"))
        XCTAssertNil(SecurityContext.bearerToken("Bearer\u{0}abc"))
    }

    func testCreateReadUpdateDelete() {
        let (created, body, response) = send("PUT", "/fhir/Patient/p1", body: #"{"resourceType":"Patient","id":"p1","active":true}"#)
        XCTAssertEqual(created, 201)
        XCTAssertEqual(body, #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2026-11-26T15:55:04.123Z"},"active":true}"#)
        XCTAssertEqual(response.header("ETag"), #"W/"1""#)
        XCTAssertEqual(response.header("Location"), "https://localhost:8443/fhir/Patient/p1/_history/1")
        XCTAssertEqual(response.header("Content-Type"), "application/fhir+json; charset=utf-8")
        XCTAssertEqual(send("PUT", "/fhir/Patient/p1", body: #"{"resourceType":"Patient","id":"p1"}"#).0, 200)
        XCTAssertEqual(send("GET", "/fhir/Patient/p1").2.header("ETag"), #"W/"2""#)
        XCTAssertEqual(send("DELETE", "/fhir/Patient/p1").0, 204)
        let (gone, goneBody, _) = send("GET", "/fhir/Patient/p1")
        XCTAssertEqual(gone, 410)
        XCTAssertEqual(issueCode(goneBody), "deleted")
        XCTAssertEqual(send("DELETE", "/fhir/Patient/never").0, 404)
    }

    func testPostAssignsId() {
        let (status, body, response) = send("POST", "/fhir/Patient", body: #"{"resourceType":"Patient","id":"mine"}"#)
        XCTAssertEqual(status, 201)
        XCTAssertTrue(body.contains(#""id":"id-1""#), body)
        XCTAssertEqual(response.header("Location"), "https://localhost:8443/fhir/Patient/id-1/_history/1")
    }

    func testValidationFailures() {
        let cases: [(String, String, String?, String?, Int, String)] = [
            ("PUT", "/fhir/Patient/p1", "{", "application/fhir+json", 400, "structure"),
            ("PUT", "/fhir/Patient/p1", "[]", "application/fhir+json", 400, "structure"),
            ("PUT", "/fhir/Patient/p1", #"{"id":"p1"}"#, "application/fhir+json", 400, "required"),
            ("PUT", "/fhir/Patient/p1", #"{"resourceType":"Bogus","id":"p1"}"#, "application/fhir+json", 400, "not-supported"),
            ("PUT", "/fhir/Patient/p1", #"{"resourceType":"Group","id":"p1"}"#, "application/fhir+json", 400, "invalid"),
            ("PUT", "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p2"}"#, "application/fhir+json", 400, "invalid"),
            ("PUT", "/fhir/Patient/a_b", #"{"resourceType":"Patient","id":"a_b"}"#, "application/fhir+json", 400, "value"),
            ("PUT", "/fhir/Bogus/p1", #"{"resourceType":"Bogus","id":"p1"}"#, "application/fhir+json", 404, "not-supported"),
            ("PUT", "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1"}"#, "text/plain", 415, "not-supported"),
            ("PUT", "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1"}"#, nil, 415, "not-supported"),
            ("PUT", "/fhir/Patient/p1", #"{"resourceType":"Patient","id":"p1","a":1,"a":2}"#, "application/fhir+json", 400, "structure"),
            ("PUT", "/fhir/Patient/p1", "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"x\":\"\(String(repeating: "y", count: 3000))\"}",
             "application/fhir+json", 413, "too-long"),
            ("PATCH", "/fhir/Patient/p1", "{}", "application/fhir+json", 405, "not-supported"),
            ("GET", "/fhir/Patient/p1/extra", nil, nil, 404, "not-found"),
            ("GET", "/other", nil, nil, 404, "not-found"),
        ]
        for (method, path, body, contentType, expectedStatus, expectedCode) in cases {
            let (status, responseBody, _) = send(method, path, body: body, contentType: contentType)
            XCTAssertEqual(status, expectedStatus, "\(method) \(path) \(body ?? "")")
            XCTAssertEqual(issueCode(responseBody), expectedCode, "\(method) \(path) \(responseBody)")
        }
        XCTAssertEqual(send("GET", "/fhir/Patient/p1").0, 404, "a failed write stored something")
    }

    func testTransactionIsAllOrNothing() {
        let (status, body, _) = send("POST", "/fhir", body: """
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}},
          {"request":{"method":"DELETE","url":"Patient/does-not-exist"}}]}
        """)
        XCTAssertEqual(status, 404)
        XCTAssertTrue(body.contains("entry[1]"), body)
        XCTAssertEqual(send("GET", "/fhir/Patient/t1").0, 404)
    }

    func testGroupSearch() {
        _ = send("PUT", "/fhir/Group/g1", body: #"{"resourceType":"Group","id":"g1","type":"person","actual":true,"name":"Sunrise","identifier":[{"system":"s","value":"v"}]}"#)
        let (status, body, _) = send("GET", "/fhir/Group", query: "identifier=s%7Cv&name=SUN")
        XCTAssertEqual(status, 200)
        let bundle = try? JSONParser.parse(body)
        XCTAssertEqual(bundle?["total"], .number("1"))
        XCTAssertEqual(bundle?["entry"]?.arrayValue?.first?["fullUrl"]?.stringValue, "https://localhost:8443/fhir/Group/g1")
        XCTAssertEqual(send("GET", "/fhir/Group", query: "_count=0").0, 400)
        XCTAssertEqual(send("GET", "/fhir/Group", query: "name=%zz").0, 400)
        let (unknown, unknownBody, _) = send("GET", "/fhir/Group", query: "member=Patient/a")
        XCTAssertEqual(unknown, 400)
        XCTAssertTrue(unknownBody.contains("supported: identifier, name, characteristic, characteristic-value, managing-entity, period, _summary, _count, _cursor"), unknownBody)
    }

    func testGroupSearchPagesSummaryAndCount() throws {
        for id in ["g1", "g2", "g3"] {
            _ = send("PUT", "/fhir/Group/\(id)", body: #"{"resourceType":"Group","id":"\#(id)","type":"person","actual":true,"identifier":[{"system":"s","value":"v"}],"member":[{"entity":{"reference":"Patient/a"}}]}"#)
        }
        let subsetted = #"{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"subsetted"}"#
        let (status, body, _) = send("GET", "/fhir/Group", query: "identifier=s%7Cv&_summary=true&_count=2")
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body, #"{"resourceType":"Bundle","type":"searchset","total":3,"link":["#
            + #"{"relation":"self","url":"https://localhost:8443/fhir/Group?identifier=s%7Cv&_summary=true&_count=2"},"#
            + #"{"relation":"next","url":"https://localhost:8443/fhir/Group?identifier=s%7Cv&_summary=true&_count=2&_cursor=g2"}],"entry":["#
            + #"{"fullUrl":"https://localhost:8443/fhir/Group/g1","resource":{"resourceType":"Group","id":"g1","meta":{"versionId":"1","lastUpdated":"2026-11-26T15:55:04.123Z","tag":[\#(subsetted)]},"type":"person","actual":true,"identifier":[{"system":"s","value":"v"}]},"search":{"mode":"match"}},"#
            + #"{"fullUrl":"https://localhost:8443/fhir/Group/g2","resource":{"resourceType":"Group","id":"g2","meta":{"versionId":"1","lastUpdated":"2026-11-26T15:55:04.123Z","tag":[\#(subsetted)]},"type":"person","actual":true,"identifier":[{"system":"s","value":"v"}]},"search":{"mode":"match"}}]}"#)
        let (_, last, _) = send("GET", "/fhir/Group", query: "identifier=s%7Cv&_count=2&_cursor=g2")
        let bundle = try JSONParser.parse(Array(last.utf8))
        XCTAssertEqual(bundle["total"], .number("3"))
        XCTAssertEqual(bundle["link"]?.arrayValue?.count, 1, "no next link on the last page")
        XCTAssertEqual(bundle["entry"]?.arrayValue?.map { $0["resource"]?["id"]?.stringValue }, ["g3"])
        XCTAssertEqual(bundle["entry"]?.arrayValue?.first?["resource"]?["member"]?.arrayValue?.count, 1, "without _summary the Group is whole")
        XCTAssertEqual(send("GET", "/fhir/Group", query: "_summary=count").1,
                       #"{"resourceType":"Bundle","type":"searchset","total":3,"link":[{"relation":"self","url":"https://localhost:8443/fhir/Group?_summary=count"}]}"#)
    }

    func testCompleteStatusAnswersExpiresWhenTheFilesArePurged() throws {
        _ = send("PUT", "/fhir/Group/g1", body: #"{"resourceType":"Group","id":"g1","type":"person","actual":true}"#)
        let kickoff = service.handle(HTTPRequest(method: "GET", path: "/fhir/Group/g1/$davinci-data-export", query: "",
                                                 headers: ["accept": "application/fhir+json", "prefer": "respond-async"], body: []))
        XCTAssertEqual(kickoff.status, 202, String(decoding: kickoff.body, as: UTF8.self))
        let database = service.database
        let queued = service.handle(HTTPRequest(method: "GET", path: "/fhir/$exportstatus", query: "_id=id-1", headers: [:], body: []))
        XCTAssertEqual(queued.status, 202)
        XCTAssertNil(queued.header("Expires"), "no Expires before the task is complete")

        let lease = try XCTUnwrap(database.claimTask(owner: "test", nowMilliseconds: 1_795_708_504_123, leaseMilliseconds: 60_000,
                                                     retryLimit: 3) { _, _ in XCTFail("gave up"); return ([], AuditRecord.sample) })
        let manifest = ExportManifest(transactionTime: "2026-11-26T15:55:04.123Z", request: "r", output: [], error: [])
        // Finished at 2026-11-26T15:56:40.999Z; the default FileRetentionPeriod is one day.
        let finished: Int64 = 1_795_708_600_999
        XCTAssertTrue(try database.completeTask(lease, manifest: manifest.storedJSON().serialized(), nowMilliseconds: finished,
                                                audit: AuditRecord.sample))
        let complete = service.handle(HTTPRequest(method: "GET", path: "/fhir/$exportstatus", query: "_id=id-1", headers: [:], body: []))
        XCTAssertEqual(complete.status, 200)
        XCTAssertEqual(complete.header("Expires"), "Fri, 27 Nov 2026 15:56:40 GMT")
    }

    func testMetadata() {
        let (status, body, _) = send("GET", "/fhir/metadata")
        XCTAssertEqual(status, 200)
        let statement = try? JSONParser.parse(body)
        XCTAssertEqual(statement?["fhirVersion"]?.stringValue, "4.0.1")
        XCTAssertEqual(statement?["instantiates"], ["http://hl7.org/fhir/us/davinci-atr/CapabilityStatement/atr-producer",
                                                    "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"])
        let resources = statement?["rest"]?.arrayValue?.first?["resource"]?.arrayValue ?? []
        let profiles = resources.map { "\($0["type"]?.stringValue ?? "") \($0["supportedProfile"]?.arrayValue?.compactMap(\.stringValue) ?? [])" }
        let atr = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/atr-"
        XCTAssertEqual(profiles, ["Group [\"\(atr)group\"]", "Patient [\"\(atr)patient\"]", "Coverage [\"\(atr)coverage\"]",
                                  "RelatedPerson [\"\(atr)relatedperson\"]", "Practitioner [\"\(atr)practitioner\"]",
                                  "PractitionerRole [\"\(atr)practitionerrole\"]", "Organization [\"\(atr)organization\"]",
                                  "Location [\"\(atr)location\"]", "Consent []"])
        let group = resources.first
        XCTAssertEqual(group?["searchParam"]?.arrayValue?.map { "\($0["name"]?.stringValue ?? "") \($0["type"]?.stringValue ?? "") \($0["definition"]?.stringValue ?? "-")" }, [
            "identifier token http://hl7.org/fhir/SearchParameter/Group-identifier", "name string -",
            "characteristic token http://hl7.org/fhir/SearchParameter/Group-characteristic",
            "characteristic-value composite http://hl7.org/fhir/SearchParameter/Group-characteristic-value",
            "managing-entity reference http://hl7.org/fhir/SearchParameter/Group-managing-entity", "period date -",
        ])
        // Every search parameter offered is declared (the result parameters are not search parameters).
        XCTAssertEqual(group?["searchParam"]?.arrayValue?.compactMap { $0["name"]?.stringValue },
                       GroupSearch.parameters.filter { !$0.hasPrefix("_") })
        let davinci = "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/"
        XCTAssertEqual(group?["operation"]?.arrayValue?.map { "\($0["name"]?.stringValue ?? "") \($0["definition"]?.stringValue ?? "")" }, [
            "davinci-data-export \(davinci)davinci-data-export", "export http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
            "member-add \(davinci)member-add", "member-remove \(davinci)member-remove",
            "confirm-attribution-list \(davinci)confirm-attribution-list", "attribution-status \(davinci)attribution-status",
        ])
    }
}

final class IdSequence: @unchecked Sendable {
    private let lock = NSLock()
    private var counter = 0
    func next() -> String {
        lock.withLock {
            counter += 1
            return "id-\(counter)"
        }
    }
}

extension AuditRecord {
    static let sample = AuditRecord(recorded: FHIRInstant(millisecondsSinceEpoch: 0), action: .exportComplete, outcome: .success,
                                    clientId: nil, address: nil, entities: [], details: [])
}
