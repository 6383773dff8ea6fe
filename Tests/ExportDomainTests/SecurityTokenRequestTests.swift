import XCTest
@testable import ExportDomain

final class SecurityTokenRequestTests: XCTestCase {
    private let form = "application/x-www-form-urlencoded"
    private let assertionType = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"

    private func parse(_ body: String, contentType: String? = "application/x-www-form-urlencoded") throws(OAuthError) -> TokenRequest {
        try TokenRequest.parse(formBody: Array(body.utf8), contentType: contentType)
    }

    private func assertFails(
        _ body: String, contentType: String? = "application/x-www-form-urlencoded", _ code: OAuthError.Code,
        _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            _ = try parse(body, contentType: contentType)
            XCTFail("accepted \(body)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.error, code.rawValue, error.description, file: file, line: line)
            XCTAssertEqual(error.code, code, file: file, line: line)
            XCTAssertEqual(error.status, 400, file: file, line: line)
            XCTAssertTrue(error.description.contains(fragment), "\(fragment) ← \(error.description)", file: file, line: line)
        }
    }

    func testParsesAFormWithEscapes() throws {
        let request = try parse(
            "grant_type=client_credentials&client_assertion_type=\(assertionType)&client_assertion=eyJ.a-b_c.d"
                + "&scope=system%2FPatient.read+system/Group.rs&client_id=my%20client&")
        XCTAssertEqual(request.grantType, "client_credentials")
        XCTAssertEqual(request.clientAssertionType, TokenRequest.jwtBearerAssertionType)
        XCTAssertEqual(request.clientAssertion, "eyJ.a-b_c.d")
        XCTAssertEqual(request.scope, "system/Patient.read system/Group.rs")
        XCTAssertEqual(request.clientId, "my client")
    }

    func testContentTypeParametersAndCase() throws {
        let body = "grant_type=client_credentials&client_assertion_type=\(assertionType)&client_assertion=x&scope=system/*.read"
        XCTAssertNoThrow(try parse(body, contentType: "Application/X-WWW-Form-URLEncoded; charset=UTF-8"))
        XCTAssertNoThrow(try parse(body, contentType: " application/x-www-form-urlencoded "))
        XCTAssertNil(try parse(body).clientId)
    }

    func testFailures() {
        let valid = [
            "grant_type": "client_credentials", "client_assertion_type": assertionType,
            "client_assertion": "x", "scope": "system/Patient.read",
        ]
        func body(_ overrides: [String: String?]) -> String {
            ["grant_type", "client_assertion_type", "client_assertion", "scope"].compactMap { name in
                let value = overrides.keys.contains(name) ? overrides[name]! : valid[name]
                return value.map { "\(name)=\($0)" }
            }.joined(separator: "&")
        }
        let good = body([:])
        assertFails(#"{"grant_type":"client_credentials"}"#, contentType: "application/json", .invalidRequest, "application/json")
        assertFails(good, contentType: nil, .invalidRequest, "x-www-form-urlencoded")
        assertFails(good, contentType: "multipart/form-data; boundary=x", .invalidRequest, "multipart")
        assertFails(good, contentType: "application/x-www-form-urlencodedx", .invalidRequest, "x-www-form-urlencoded")
        assertFails(body(["grant_type": nil]), .invalidRequest, "grant_type")
        assertFails(body(["grant_type": "authorization_code"]), .unsupportedGrantType, "authorization_code")
        assertFails(body(["grant_type": "password"]), .unsupportedGrantType, "password")
        assertFails(body(["client_assertion_type": nil]), .invalidRequest, "client_assertion_type")
        assertFails(body(["client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"]),
                    .invalidRequest, "saml2-bearer")
        assertFails(body(["client_assertion": nil]), .invalidRequest, "client_assertion is missing")
        assertFails(body(["client_assertion": ""]), .invalidRequest, "client_assertion is missing")
        assertFails(body(["scope": nil]), .invalidScope, "no scope")
        assertFails(body(["scope": "++"]), .invalidScope, "no scope")
        assertFails(good + "&scope=system/Group.read", .invalidRequest, "'scope' is repeated")
        assertFails(good + "&x=%4", .invalidRequest, "'%'")
        assertFails(good + "&x=%zz", .invalidRequest, "'%'")
        assertFails(good + "&x=%FF", .invalidRequest, "UTF-8")
        assertFails("", .invalidRequest, "grant_type")
    }

    func testFormDecoding() throws {
        let pairs = try FormURLEncoding.decode(Array("a=1&&b=&c&d=x%3Dy=z&e=%E2%82%AC+%2B".utf8))
        XCTAssertEqual(pairs.map(\.0), ["a", "b", "c", "d", "e"])
        XCTAssertEqual(pairs.map(\.1), ["1", "", "", "x=y=z", "€ +"])
    }
}
