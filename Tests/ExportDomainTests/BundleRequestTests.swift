import XCTest
@testable import ExportDomain

final class BundleRequestTests: XCTestCase {
    private func parse(_ text: String) throws -> BundleRequest {
        var counter = 0
        return try BundleRequest.parse(Array(text.utf8)) {
            counter += 1
            return "new\(counter)"
        }
    }

    func testTransactionResolvesURNReferences() throws {
        let bundle = try parse("""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:aaa","resource":{"resourceType":"Patient","id":"ignored"},"request":{"method":"POST","url":"Patient"}},
          {"resource":{"resourceType":"Coverage","id":"c1","beneficiary":{"reference":"urn:uuid:aaa","display":"urn:uuid:aaa"},
            "payor":[{"reference":"urn:uuid:aaa"}]},"request":{"method":"PUT","url":"Coverage/c1"}},
          {"request":{"method":"DELETE","url":"Patient/old"}}]}
        """)
        XCTAssertEqual(bundle.kind, .transaction)
        let entries = try bundle.entries.map { try $0.get() }
        XCTAssertEqual(entries.map(\.id), ["new1", "c1", "old"])
        XCTAssertNil(entries[0].resource?["id"])
        XCTAssertEqual(entries[1].resource.map { JSONValue.object($0).serializedString },
                       #"{"resourceType":"Coverage","id":"c1","beneficiary":{"reference":"Patient/new1","display":"urn:uuid:aaa"},"payor":[{"reference":"Patient/new1"}]}"#)
    }

    func testTransactionWithBadEntryNamesIt() {
        XCTAssertThrowsError(try parse("""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}},
          {"resource":{"resourceType":"Patient","id":"b"},"request":{"method":"PUT","url":"Patient/c"}}]}
        """)) { error in
            XCTAssertEqual((error as? FHIRError)?.status, 400)
            XCTAssertTrue((error as? FHIRError)?.diagnostics.hasPrefix("entry[1]:") == true, "\(error)")
        }
    }

    func testConditionalEntriesAreRefusedNotIgnored() {
        for condition in [#""ifNoneExist":"identifier=x|1""#, #""ifMatch":"W/\"1\"""#, #""ifNoneMatch":"*""#, #""ifModifiedSince":"2026-01-01""#] {
            XCTAssertThrowsError(try parse("""
            {"resourceType":"Bundle","type":"transaction","entry":[
              {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient",\(condition)}}]}
            """)) { error in
                XCTAssertEqual((error as? FHIRError)?.status, 400)
                XCTAssertTrue((error as? FHIRError)?.diagnostics.contains("conditional requests (request.if") == true, "\(error)")
            }
        }
    }

    func testTransactionRejectsDuplicateTargets() {
        XCTAssertThrowsError(try parse("""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}},
          {"request":{"method":"DELETE","url":"Patient/a"}}]}
        """))
    }

    func testBatchKeepsGoodEntries() throws {
        let bundle = try parse("""
        {"resourceType":"Bundle","type":"batch","entry":[
          {"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}},
          {"resource":{"resourceType":"Bogus","id":"b"},"request":{"method":"PUT","url":"Bogus/b"}},
          {"request":{"method":"PATCH","url":"Patient/a"}}]}
        """)
        XCTAssertNoThrow(try bundle.entries[0].get())
        XCTAssertThrowsError(try bundle.entries[1].get())
        XCTAssertThrowsError(try bundle.entries[2].get())
    }

    func testOtherBundleTypesAndBodies() {
        for body in [#"{"resourceType":"Bundle","type":"collection"}"#, #"{"resourceType":"Patient"}"#, #"[]"#] {
            XCTAssertThrowsError(try parse(body)) { error in
                XCTAssertEqual((error as? FHIRError)?.code, .invalid, body)
            }
        }
        XCTAssertThrowsError(try parse("{")) { error in XCTAssertEqual((error as? FHIRError)?.code, .structure) }
    }
}
