import ExportDomain
import Logging
import Storage
import XCTest
@testable import FHIRService

/// The one error → response mapping: errors that render themselves, and the two cases the
/// responder renders itself (busy database, anything unexpected) in each endpoint's dialect.
final class ErrorResponderTests: XCTestCase {
    private let logger = Logger(label: "test")
    private let busy = StorageError(code: 5, message: "database is locked")

    private func parts(_ response: HTTPResponse) -> (Int, String?, String?, String) {
        (response.status, response.header("Content-Type"), response.header("Retry-After"), String(decoding: response.body, as: UTF8.self))
    }

    func testABusyDatabaseIsA503WithRetryAfterInEachDialect() {
        let (status, type, retry, body) = parts(ErrorResponder.response(for: busy, logger: logger))
        XCTAssertEqual([String(status), type, retry], ["503", "application/fhir+json; charset=utf-8", "1"])
        XCTAssertEqual(body, #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"The database is busy; retry shortly"}]}"#)

        let oauth = ErrorResponder.response(for: busy, dialect: .oauth, logger: logger)
        XCTAssertEqual(oauth.status, 503)
        XCTAssertEqual(oauth.header("Content-Type"), "application/json")
        XCTAssertEqual(oauth.header("Retry-After"), "1")
        XCTAssertEqual(oauth.header("Pragma"), "no-cache")
        XCTAssertEqual(String(decoding: oauth.body, as: UTF8.self),
                       #"{"error":"temporarily_unavailable","error_description":"The database is busy; retry shortly"}"#)
    }

    func testAnUnexpectedErrorRevealsNothingInEachDialect() {
        struct Secret: Error { let detail = "SQLite error 13 at /var/lib/atr-export/db" }
        let fhir = parts(ErrorResponder.response(for: Secret(), logger: logger))
        XCTAssertEqual(fhir.0, 500)
        XCTAssertEqual(fhir.3, #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"Internal server error"}]}"#)
        let oauth = parts(ErrorResponder.response(for: Secret(), dialect: .oauth, logger: logger))
        XCTAssertEqual(oauth.0, 500)
        XCTAssertEqual(oauth.3, #"{"error":"server_error","error_description":"Internal server error"}"#)
    }

    func testErrorsRenderThemselves() {
        let oauth = ErrorResponder.response(for: OAuthError.invalidClient("unknown client"), dialect: .oauth, logger: logger)
        XCTAssertEqual(oauth.status, 401)
        XCTAssertEqual(oauth.headers.map(\.name), ["Content-Type", "Pragma", "WWW-Authenticate"])
        XCTAssertEqual(String(decoding: oauth.body, as: UTF8.self), #"{"error":"invalid_client","error_description":"unknown client"}"#)

        let notAllowed = ErrorResponder.response(for: ErrorResponder.methodNotAllowed("PATCH", allowed: ["GET"]), logger: logger)
        XCTAssertEqual(notAllowed.status, 405)
        XCTAssertEqual(notAllowed.header("Allow"), "GET")
        XCTAssertEqual(notAllowed.header("Content-Type"), "application/fhir+json; charset=utf-8")
    }

    func testAFHIRErrorAtTheTokenEndpointIsAnOAuthError() {
        let unavailable = FHIRError(status: 503, code: .transient, "The issuer's key set cannot be fetched",
                                    headers: [HTTPHeader("Retry-After", "30")])
        let response = ErrorResponder.response(for: unavailable, dialect: .oauth, logger: logger)
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.header("Retry-After"), "30")
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self),
                       #"{"error":"temporarily_unavailable","error_description":"The issuer's key set cannot be fetched"}"#)
    }

    func testAFailedTaskAnswersItsStoredOutcome() {
        let stored = ExportFailureReason.diskFull.operationOutcome.serialized()
        let response = ErrorResponder.response(for: FailedTaskOutcome(stored: stored), logger: logger)
        XCTAssertEqual(response.status, 500)
        XCTAssertEqual(response.body, stored)
        let unreadable = ErrorResponder.response(for: FailedTaskOutcome(stored: Array("{".utf8)), logger: logger)
        XCTAssertEqual(String(decoding: unreadable.body, as: UTF8.self),
                       #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"The export failed because of an internal error"}]}"#)
    }
}
