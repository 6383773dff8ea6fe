import XCTest
@testable import ExportDomain

final class SettingsBuilderTests: XCTestCase {
    private func build(_ json: String = "{}", env: [String: String] = [:]) throws -> Settings {
        try SettingsBuilder.build(layers: [.init(name: "appsettings.json", contents: Array(json.utf8))], environment: env)
    }

    private func assertError(_ json: String, env: [String: String] = [:], key: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try build(json, env: env), file: file, line: line) { error in
            XCTAssertEqual((error as? ConfigurationError)?.key, key, "\(error)", file: file, line: line)
        }
    }

    func testDefaults() throws {
        let settings = try build()
        XCTAssertEqual(settings.publicBaseURL, "https://localhost:8443/fhir")
        XCTAssertEqual(settings.basePath, "/fhir")
        XCTAssertEqual(settings.requestBodyLimit, 104_857_600)
        XCTAssertEqual(settings.bulkDataExport.repeatPeriodMilliseconds, 60000)
        XCTAssertEqual(settings.bulkDataExport.fileRetentionSeconds, 86400)
        XCTAssertEqual(settings.bulkDataExport.additionalResourcesMaxRecursionDepth, 2)
        XCTAssertEqual(settings.redactions["hl7.fhir.us.davinci-atr"]?.omitElements,
                       ["descendants().where($this is Money)", "Coverage.costToBeneficiary"])
    }

    func testFileThenEnvironmentOverride() throws {
        let settings = try build(#"{"BulkDataExport": {"RepeatPeriod": 5000}, "PublicBaseUrl": "https://atr.example.org/r4/"}"#,
                                 env: ["ATR_BulkDataExport__RetryLimit": "7", "ATR_fastcgi__threads": "9", "ATR_CA": "/x", "HOME": "/root"])
        XCTAssertEqual(settings.bulkDataExport.repeatPeriodMilliseconds, 5000)
        XCTAssertEqual(settings.bulkDataExport.retryLimit, 7)
        XCTAssertEqual(settings.fastCGIThreads, 9)
        XCTAssertEqual(settings.publicBaseURL, "https://atr.example.org/r4")
        XCTAssertEqual(settings.basePath, "/r4")
    }

    func testParallelExportsDefaultToTheCores() throws {
        XCTAssertEqual(try build().bulkDataExport.parallelExports(cores: 2), 2)
        XCTAssertEqual(try build().bulkDataExport.parallelExports(cores: 0), 1)
        XCTAssertEqual(try build(#"{"BulkDataExport": {"MaxParallelExports": 3}}"#).bulkDataExport.parallelExports(cores: 2), 3)
        assertError(#"{"BulkDataExport": {"MaxParallelExports": -1}}"#, key: "BulkDataExport.MaxParallelExports")
        assertError(#"{"BulkDataExport": {"MaxParallelExports": 1000}}"#, key: "BulkDataExport.MaxParallelExports")
    }

    func testRedactionsReplaceDefaults() throws {
        let settings = try build(#"{"ResourceRedactionOptions": {"Redactions": {"mine": {"FhirVersions": ["Fhir4.0"], "OmitElements": ["Patient.name"]}}}}"#)
        XCTAssertEqual(settings.redactions, ["mine": try .init(fhirVersions: ["Fhir4.0"], omitElements: ["Patient.name"])])
    }

    func testErrorsNameTheKey() {
        assertError(#"{"BulkDataExport": {"RepeatPerod": 5}}"#, key: "BulkDataExport.RepeatPerod")
        assertError(#"{"Bogus": 1}"#, key: "Bogus")
        assertError(#"{"BulkDataExport": {"RepeatPeriod": "soon"}}"#, key: "BulkDataExport.RepeatPeriod")
        assertError(#"{"BulkDataExport": {"RepeatPeriod": 1}}"#, key: "BulkDataExport.RepeatPeriod")
        assertError(#"{"BulkDataExport": {"FileRetentionPeriod": "a week"}}"#, key: "BulkDataExport.FileRetentionPeriod")
        assertError(#"{"PublicBaseUrl": "localhost:8443/fhir"}"#, key: "PublicBaseUrl")
        assertError(#"{"PublicBaseUrl": "https://localhost:8443/"}"#, key: "PublicBaseUrl")
        assertError(#"{"BulkDataExport": 3}"#, key: "BulkDataExport")
        assertError(#"{"TaskFileManagement": {"StorageService": {"StorageType": "AzureBlob"}}}"#, key: "TaskFileManagement.StorageService.StorageType")
        assertError("{", key: "appsettings.json")
        assertError("{}", env: ["ATR_BulkDataExport__RetryLimit": "many"], key: "BulkDataExport.RetryLimit")
        assertError("{}", env: ["ATR_BulkDataExport__Nope": "1"], key: "BulkDataExport.Nope")
    }

    func testTimeSpans() {
        XCTAssertEqual(TimeSpan.seconds("00:10:00"), 600)
        XCTAssertEqual(TimeSpan.seconds("1.00:00:00"), 86400)
        XCTAssertEqual(TimeSpan.seconds("2.03:04:05"), 183_845)
        XCTAssertNil(TimeSpan.seconds("10:00"))
        XCTAssertNil(TimeSpan.seconds("00:60:00"))
    }

    func testNginxTemplate() throws {
        let settings = try build()
        let values = NginxTemplate.values(for: settings, workingDirectory: "/srv/atr")
        XCTAssertEqual(values["fastcgi_socket"], "/srv/atr/var/run/atr-fcgi.sock")
        XCTAssertEqual(values["listen_port"], "8443")
        XCTAssertEqual(values["client_max_body_size"], "104857600")
        XCTAssertEqual(try NginxTemplate.render("listen {{listen_port}}; root {{base_path}};", values: values), "listen 8443; root /fhir;")
        XCTAssertThrowsError(try NginxTemplate.render("{{nope}}", values: values))
    }

    func testNginxTemplateIncludesAndIndentsBlocks() throws {
        let files = ["site": "server {\n    listen {{listen_port}};\n\n}\n", "loop": "{{include loop}}"]
        let include: (String) throws -> String = { path in try XCTUnwrap(files[path]) }
        XCTAssertEqual(try NginxTemplate.render("http {\n    {{include site}}\n}\n", values: ["listen_port": "9"], include: include),
                       "http {\n    server {\n        listen 9;\n\n    }\n}\n")
        XCTAssertEqual(try NginxTemplate.render("  a {{v}}", values: ["v": "x\ny"]), "  a x\ny", "indented only when the placeholder starts its line")
        XCTAssertThrowsError(try NginxTemplate.render("{{include site}}", values: [:]), "no reader given")
        XCTAssertThrowsError(try NginxTemplate.render("{{include loop}}", values: [:], include: include))
    }

    func testNginxSites() throws {
        let settings = try build(#"{"PublicBaseUrl": "https://atr.example.org/fhir"}"#)
        var values = NginxTemplate.values(for: settings, workingDirectory: "/srv/atr")
        let production = try NginxSite.production.values(given: values)
        XCTAssertEqual(production["listen"], "listen 443 ssl http2;\nlisten [::]:443 ssl http2;")
        XCTAssertEqual(production["ssl_certificate"], "/etc/ssl/certs/atr.example.org.pem")
        XCTAssertEqual(production["secure_link_secret_conf"], "/etc/atr-export/nginx/secure-link-secret.conf")
        XCTAssertEqual(production["fastcgi_socket"], values["fastcgi_socket"])
        XCTAssertThrowsError(try NginxSite.dev.values(given: values)) { error in
            XCTAssertEqual((error as? NginxTemplate.MissingValue)?.name, "state_dir")
        }
        values["state_dir"] = "/srv/atr/var"
        values["ssl_certificate"] = "/mine.pem"
        let dev = try NginxSite.dev.values(given: values)
        XCTAssertEqual(dev["listen"], "listen 127.0.0.1:443 ssl;")
        XCTAssertEqual(dev["ssl_certificate"], "/mine.pem", "a --set value wins")
        XCTAssertEqual(dev["ssl_certificate_key"], "/srv/atr/var/tls/server.key")
        XCTAssertEqual(dev["nginx_snippets"], "/srv/atr/deploy/nginx")
        XCTAssertTrue(production["metrics_server"]?.contains("listen 127.0.0.1:9464;") == true, production["metrics_server"] ?? "")
        XCTAssertTrue(production["metrics_server"]?.contains("fastcgi_param ATR_METRICS 1;") == true)
        XCTAssertTrue(dev["metrics_server"]?.contains("listen unix:/srv/atr/var/run/metrics.sock;") == true, "dev stacks never share a port")
        let off = NginxTemplate.values(for: try build(#"{"Metrics": {"Listen": ""}}"#), workingDirectory: "/srv/atr")
        XCTAssertEqual(try NginxSite.production.values(given: off)["metrics_server"], "# No metrics listener (Metrics.Listen is empty).")
    }

    func testTheMetricsListenerIsLoopbackOnly() throws {
        for listen in ["127.0.0.1:9464", "[::1]:9100", "localhost:9464", ""] {
            XCTAssertEqual(try build(#"{"Metrics": {"Listen": "\#(listen)"}}"#).metricsListen, listen)
        }
        for listen in ["0.0.0.0:9464", "10.0.0.5:9464", "9464", "127.0.0.1", "127.0.0.1:99999", "[::]:9464"] {
            XCTAssertThrowsError(try build(#"{"Metrics": {"Listen": "\#(listen)"}}"#), listen) { error in
                XCTAssertEqual((error as? ConfigurationError)?.key, "Metrics.Listen")
            }
        }
    }
}
