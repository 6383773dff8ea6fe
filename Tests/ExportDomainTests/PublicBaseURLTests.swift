import XCTest
@testable import ExportDomain

final class PublicBaseURLTests: XCTestCase {
    private func parts(_ url: String) throws -> [String] {
        let parsed = try PublicBaseURL(parsing: url)
        return [parsed.scheme, parsed.host, String(parsed.port), parsed.path, parsed.origin, parsed.description]
    }

    func testThePartsEveryConsumerReads() throws {
        XCTAssertEqual(try parts("https://localhost:8443/fhir"),
                       ["https", "localhost", "8443", "/fhir", "https://localhost:8443", "https://localhost:8443/fhir"])
        XCTAssertEqual(try parts("https://atr.example.org/r4/"),
                       ["https", "atr.example.org", "443", "/r4", "https://atr.example.org", "https://atr.example.org/r4"])
        XCTAssertEqual(try parts("http://10.0.0.1/a/b//"), ["http", "10.0.0.1", "80", "/a/b", "http://10.0.0.1", "http://10.0.0.1/a/b"])
        XCTAssertEqual(try parts("https://[::1]:9443/fhir"), ["https", "[::1]", "9443", "/fhir", "https://[::1]:9443", "https://[::1]:9443/fhir"])
        XCTAssertEqual(try parts("HTTPS://[::1]/fhir"), ["https", "[::1]", "443", "/fhir", "https://[::1]", "https://[::1]/fhir"])
    }

    func testAnythingElseIsAConfigurationErrorNamingTheKey() {
        for url in ["localhost:8443/fhir", "ftp://h/fhir", "https://h", "https://h/", "https:///fhir", "https://h:0/fhir",
                    "https://h:70000/fhir", "https://h:x/fhir", "https://u@h/fhir", "https://[::1/fhir", "https://[::1]x/fhir",
                    "https://h/fhir?x=1", "https://h/fhir#f", "https://h:/fhir", "https://h:+443/fhir", "https://h:٤٤٣/fhir"] {
            XCTAssertThrowsError(try PublicBaseURL(parsing: url), url) { error in
                XCTAssertEqual((error as? ConfigurationError)?.key, "PublicBaseUrl", url)
                XCTAssertTrue("\(error)".contains(url), "\(error)")
            }
        }
    }
}
