import XCTest
@testable import ExportDomain

final class ExportKickoffTests: XCTestCase {
    private let now = FHIRInstant.parseInstant("2026-06-01T12:00:00Z")!
    private let url = "https://localhost:8443/fhir/Group/g1/$davinci-data-export"

    // MARK: Limits

    func testAKickoffCarriesABoundedNumberOfParametersAndIsRefusedAtOnceBeyondIt() throws {
        let patients = (0..<1000).map { ("patient", "valueReference", #"{"reference":"Patient/p\#($0)"}"#) }
        XCTAssertEqual(try post(parameters(patients)).patients.count, 1000)
        let many = (0..<100_000).map { ("patient", "valueReference", #"{"reference":"Patient/p\#($0)"}"#) }
        assertFails(try post(parameters(many)), status: 413, code: .tooCostly, mentions: ["100000 parameters", "at most 1000", "MaxKickoffParameters"])
        let lenientMany = (0..<1001).map { ("unknown\($0)", "valueString", #""x""#) }
        assertFails(try post(parameters(lenientMany), prefer: "respond-async, handling=lenient"), status: 413, code: .tooCostly,
                    mentions: ["1001 parameters"])
        let selectors = (0..<1001).map { "Patient.e\($0)" }.joined(separator: ",")
        assertFails(try get([("_elements", selectors)]), status: 413, code: .tooCostly, mentions: ["_elements selectors"])
        XCTAssertEqual(try get([("_elements", (0..<1000).map { "Patient.e\($0)" }.joined(separator: ","))]).elements.count, 1000)
    }

    // MARK: Helpers

    private func get(
        _ query: [(String, String)] = [], operation: ExportOperation = .davinciDataExport,
        groupId: String = "g1", accept: String? = "application/fhir+json", prefer: String? = "respond-async"
    ) throws -> ExportRequest {
        try ExportKickoff.parse(
            method: "GET", operation: operation, groupId: groupId,
            query: query.map { (name: $0.0, value: $0.1) }, accept: accept, prefer: prefer,
            contentType: nil, body: [], now: now, requestURL: url)
    }

    private func post(
        _ body: String, operation: ExportOperation = .davinciDataExport, query: [(String, String)] = [],
        contentType: String? = "application/fhir+json", prefer: String? = "respond-async"
    ) throws -> ExportRequest {
        try ExportKickoff.parse(
            method: "POST", operation: operation, groupId: "g1",
            query: query.map { (name: $0.0, value: $0.1) }, accept: "application/fhir+json", prefer: prefer,
            contentType: contentType, body: Array(body.utf8), now: now, requestURL: url)
    }

    /// A Parameters body from `(name, valueKey, JSON value text)` triples.
    private func parameters(_ entries: [(String, String, String)]) -> String {
        let list = entries.map { #"{"name":"\#($0.0)","\#($0.1)":\#($0.2)}"# }.joined(separator: ",")
        return #"{"resourceType":"Parameters","parameter":[\#(list)]}"#
    }

    private func assertFails(
        _ expression: @autoclosure () throws -> ExportRequest, status: Int = 400, code: IssueType,
        mentions: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? FHIRError else {
                return XCTFail("not a FHIRError: \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.status, status, "\(error)", file: file, line: line)
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            for text in mentions {
                XCTAssertTrue(error.diagnostics.contains(text), "'\(text)' not in: \(error.diagnostics)", file: file, line: line)
            }
        }
    }

    // MARK: Defaults

    func testGetWithoutParametersUsesATRDefaults() throws {
        let request = try get()
        XCTAssertEqual(request, ExportRequest(
            groupId: "g1", operation: .davinciDataExport, exportType: "hl7.fhir.us.davinci-atr",
            types: ["Group", "Patient", "Coverage"], typesRequested: false, since: nil, until: nil,
            patients: [], elements: [], outputFormat: "application/fhir+ndjson", requestURL: url, ignored: []))
    }

    func testExportAliasWithoutTypeMeansAllATRTypes() throws {
        let request = try get(operation: .export)
        XCTAssertEqual(request.operation, .export)
        XCTAssertEqual(request.types, ATRTypes.all)
        XCTAssertFalse(request.typesRequested)
        XCTAssertEqual(request.exportType, ExportRequest.atrExportType)
    }

    // MARK: Prefer

    func testPreferRespondAsyncRequired() {
        assertFails(try get(prefer: nil), code: .required, mentions: ["Prefer", "respond-async"])
        assertFails(try get(prefer: "handling=lenient"), code: .required, mentions: ["Prefer", "respond-async", "handling=lenient"])
        assertFails(try post("", prefer: "return=minimal"), code: .required, mentions: ["Prefer"])
    }

    func testPreferWithOtherTokensAccepted() throws {
        XCTAssertNoThrow(try get(prefer: "handling=strict, respond-async"))
        XCTAssertNoThrow(try get(prefer: "respond-async; handling=lenient"))
    }

    func testPreferCheckedBeforeAccept() {
        assertFails(try get(accept: nil, prefer: nil), code: .required, mentions: ["Prefer"])
    }

    // MARK: Accept

    func testAcceptMissingOrEmpty() {
        assertFails(try get(accept: nil), code: .required, mentions: ["Accept"])
        assertFails(try get(accept: "  "), code: .required, mentions: ["Accept"])
    }

    func testAcceptAllowedForms() throws {
        for accept in ["application/fhir+json", "application/json", "*/*", "application/*", "APPLICATION/FHIR+JSON",
                       "application/fhir+json; fhirVersion=4.0", "text/html, application/json;q=0.9",
                       "text/plain,*/*;q=0.1"] {
            XCTAssertNoThrow(try get(accept: accept), accept)
        }
    }

    func testAcceptNotAllowingFHIRJSONIs406() {
        assertFails(try get(accept: "text/html"), status: 406, code: .notSupported, mentions: ["Accept", "text/html"])
        assertFails(try get(accept: "application/fhir+xml, application/xml"), status: 406, code: .notSupported,
                    mentions: ["Accept", "application/fhir+xml"])
        assertFails(try get(accept: "application/fhir+ndjson"), status: 406, code: .notSupported, mentions: ["Accept"])
        assertFails(try get(accept: "application/json;q=0"), status: 406, code: .notSupported, mentions: ["Accept"])
    }

    // MARK: Method and Group id

    func testOtherMethodsAre405() {
        XCTAssertThrowsError(try ExportKickoff.parse(
            method: "PUT", operation: .davinciDataExport, groupId: "g1", query: [], accept: "*/*",
            prefer: "respond-async", contentType: nil, body: [], now: now, requestURL: url)) { error in
            let error = error as? FHIRError
            XCTAssertEqual(error?.status, 405)
            XCTAssertEqual(error?.code, .notSupported)
            XCTAssertTrue(error?.diagnostics.contains("PUT") == true)
            XCTAssertEqual(error?.headers, [HTTPHeader("Allow", "GET, POST")])
        }
    }

    func testTheMethodIsCheckedBeforeTheGroupIdAndTheIdBeforeTheQueryEncoding() {
        XCTAssertThrowsError(try ExportKickoff.parse(
            method: "PUT", operation: .davinciDataExport, groupId: "a/b", query: nil, accept: "*/*",
            prefer: "respond-async", contentType: nil, body: [], now: now, requestURL: url)) { error in
            XCTAssertEqual((error as? FHIRError)?.status, 405)
        }
        XCTAssertThrowsError(try ExportKickoff.parse(
            method: "GET", operation: .davinciDataExport, groupId: "a/b", query: nil, accept: "*/*",
            prefer: "respond-async", contentType: nil, body: [], now: now, requestURL: url)) { error in
            XCTAssertEqual((error as? FHIRError)?.code, .value)
        }
    }

    func testAQueryStringThatIsNotValidlyPercentEncodedIs400AfterTheHeaders() {
        XCTAssertThrowsError(try ExportKickoff.parse(
            method: "GET", operation: .davinciDataExport, groupId: "g1", query: nil, accept: "*/*",
            prefer: "respond-async", contentType: nil, body: [], now: now, requestURL: url)) { error in
            XCTAssertEqual(error as? FHIRError, FHIRError.badRequest(.invalid, "The query string is not validly percent-encoded"))
        }
        XCTAssertThrowsError(try ExportKickoff.parse(
            method: "GET", operation: .davinciDataExport, groupId: "g1", query: nil, accept: "*/*",
            prefer: nil, contentType: nil, body: [], now: now, requestURL: url)) { error in
            XCTAssertEqual((error as? FHIRError)?.code, .required, "Prefer comes first")
        }
    }

    func testInvalidGroupId() {
        assertFails(try get(groupId: "a/b"), code: .value, mentions: ["Group id", "a/b"])
    }

    // MARK: POST body

    func testPostEmptyBodyMeansNoParameters() throws {
        XCTAssertEqual(try post("").types, ATRTypes.required)
        XCTAssertEqual(try post(" \r\n\t", contentType: nil).types, ATRTypes.required)
        XCTAssertEqual(try post(#"{"resourceType":"Parameters"}"#).types, ATRTypes.required)
        XCTAssertEqual(try post(#"{"resourceType":"Parameters","parameter":[]}"#, contentType: "application/json").patients, [])
    }

    func testPostContentTypeMustBeJSON() {
        let body = #"{"resourceType":"Parameters"}"#
        assertFails(try post(body, contentType: "application/x-www-form-urlencoded"), status: 415, code: .notSupported,
                    mentions: ["Content-Type", "application/x-www-form-urlencoded"])
        assertFails(try post(body, contentType: nil), status: 415, code: .notSupported, mentions: ["Content-Type"])
    }

    func testPostBodyNotJSON() {
        assertFails(try post("{resourceType:"), code: .structure, mentions: ["JSON"])
    }

    func testPostBodyNotParameters() {
        assertFails(try post(#"{"resourceType":"Patient"}"#), code: .invalid, mentions: ["Parameters", "Patient"])
        assertFails(try post("[]"), code: .invalid, mentions: ["Parameters"])
        assertFails(try post(#"{"parameter":[]}"#), code: .invalid, mentions: ["Parameters"])
    }

    func testPostParameterStructure() {
        assertFails(try post(#"{"resourceType":"Parameters","parameter":[{"valueString":"x"}]}"#),
                    code: .structure, mentions: ["parameter[0]", "name"])
        assertFails(try post(#"{"resourceType":"Parameters","parameter":[{"name":"_type","valueString":"Group,Patient,Coverage"},{"name":3}]}"#),
                    code: .structure, mentions: ["parameter[1]", "name"])
        assertFails(try post(#"{"resourceType":"Parameters","parameter":{"name":"_type"}}"#),
                    code: .structure, mentions: ["parameter"])
        assertFails(try post(#"{"resourceType":"Parameters","parameter":["x"]}"#), code: .structure, mentions: ["parameter[0]"])
    }

    func testPostParameterValueShapes() {
        assertFails(try post(parameters([("_type", "valueString", "3")])), code: .structure, mentions: ["_type", "valueString"])
        assertFails(try post(parameters([("_type", "valueCode", #""Group""#)])), code: .invalid, mentions: ["_type", "valueCode"])
        assertFails(try post(#"{"resourceType":"Parameters","parameter":[{"name":"_since"}]}"#), code: .required, mentions: ["_since"])
    }

    func testPostRejectsQueryParameters() {
        assertFails(try post("", query: [("_type", "Group,Patient,Coverage")]), code: .notSupported, mentions: ["_type", "POST"])
    }

    func testPostQueryParametersIgnoredWhenLenient() throws {
        let request = try post("", query: [("_since", "2026-01-01T00:00:00Z")], prefer: "respond-async, handling=lenient")
        XCTAssertNil(request.since)
        XCTAssertEqual(request.ignored.count, 1)
        XCTAssertTrue(request.ignored[0].contains("_since"))
    }

    // MARK: exportType

    func testExportTypeAcceptedForms() throws {
        XCTAssertEqual(try get([("exportType", "hl7.fhir.us.davinci-atr")]).exportType, ExportRequest.atrExportType)
        XCTAssertEqual(try get([("exportType", "http://hl7.org/fhir/us/davinci-atr")]).exportType, ExportRequest.atrExportType)
        XCTAssertEqual(try post(parameters([("exportType", "valueCanonical", #""http://hl7.org/fhir/us/davinci-atr""#)])).exportType,
                       ExportRequest.atrExportType)
        XCTAssertEqual(try post(parameters([("exportType", "valueUri", #""hl7.fhir.us.davinci-atr""#)])).exportType,
                       ExportRequest.atrExportType)
        XCTAssertEqual(try post(parameters([("exportType", "valueString", #""hl7.fhir.us.davinci-atr""#)])).exportType,
                       ExportRequest.atrExportType)
        XCTAssertNoThrow(try get([("exportType", "hl7.fhir.us.davinci-atr"), ("exportType", "hl7.fhir.us.davinci-atr")]))
    }

    func testExportTypeOtherRejectedEvenWhenLenient() {
        assertFails(try get([("exportType", "hl7.fhir.us.davinci-pdex")]), code: .notSupported,
                    mentions: ["exportType", "hl7.fhir.us.davinci-pdex"])
        assertFails(try get([("exportType", "hl7.fhir.us.davinci-pdex")], prefer: "respond-async, handling=lenient"),
                    code: .notSupported, mentions: ["exportType"])
        assertFails(try post(parameters([("exportType", "valueCanonical", #""http://example.org/x""#)])),
                    code: .notSupported, mentions: ["exportType", "http://example.org/x"])
    }

    func testExportTypeGivenTwiceWithDifferentValues() {
        assertFails(try get([("exportType", "hl7.fhir.us.davinci-atr"), ("exportType", "http://hl7.org/fhir/us/davinci-atr")]),
                    code: .invalid, mentions: ["exportType"])
    }

    // MARK: _type

    func testTypeResolvedDeduplicatedInFixedOrder() throws {
        let request = try get([("_type", " Location, Coverage,,Patient "), ("_type", "Group,Patient,Organization")])
        XCTAssertEqual(request.types, ["Group", "Patient", "Coverage", "Organization", "Location"])
        XCTAssertTrue(request.typesRequested)
    }

    func testTypeInPost() throws {
        let request = try post(parameters([("_type", "valueString", #""Group,Patient""#),
                                           ("_type", "valueString", #""Coverage,RelatedPerson""#)]))
        XCTAssertEqual(request.types, ["Group", "Patient", "Coverage", "RelatedPerson"])
    }

    func testTypeUnknownName() {
        assertFails(try get([("_type", "Group,Patient,Coverage,Foo")]), code: .notSupported, mentions: ["_type", "Foo"])
        assertFails(try get([("_type", "patient")]), code: .notSupported, mentions: ["_type", "patient"])
    }

    func testTypeNotExportedByATR() {
        assertFails(try get([("_type", "Group,Patient,Coverage,Observation")]), code: .notSupported,
                    mentions: ["_type", "Observation", "not exported by the ATR export"])
        assertFails(try get([("_type", "Consent")], operation: .export), code: .notSupported, mentions: ["Consent"])
    }

    func testTypeMinimumForDavinciDataExport() {
        assertFails(try get([("_type", "Group,Patient")]), code: .invalid, mentions: ["_type", "Coverage"])
        assertFails(try get([("_type", "Practitioner")]), code: .invalid, mentions: ["_type", "Group, Patient, Coverage"])
    }

    func testTypeMinimumNotEnforcedForExportAlias() throws {
        let request = try get([("_type", "Practitioner,Organization")], operation: .export)
        XCTAssertEqual(request.types, ["Practitioner", "Organization"])
        XCTAssertTrue(request.typesRequested)
    }

    func testTypeWithOnlyEmptyItemsCountsAsOmitted() throws {
        let request = try get([("_type", " , ")])
        XCTAssertEqual(request.types, ATRTypes.required)
        XCTAssertFalse(request.typesRequested)
    }

    // MARK: resourceTypes (synonym of _type)

    func testResourceTypesIsASynonymOfTypeInGetAndPost() throws {
        let viaType = try get([("_type", "Group,Patient,Coverage,Location")])
        let viaGet = try get([("resourceTypes", "Location,Coverage"), ("resourceTypes", "Group,Patient")])
        XCTAssertEqual(viaGet.types, ["Group", "Patient", "Coverage", "Location"])
        XCTAssertEqual(viaGet.types, viaType.types)
        XCTAssertTrue(viaGet.typesRequested)
        let viaPost = try post(parameters([("resourceTypes", "valueString", #""Group,Patient,Coverage,RelatedPerson""#)]))
        XCTAssertEqual(viaPost.types, ["Group", "Patient", "Coverage", "RelatedPerson"])
        XCTAssertTrue(viaPost.typesRequested)
    }

    func testResourceTypesErrorsNameResourceTypes() {
        assertFails(try get([("resourceTypes", "Group,Patient,Coverage,Foo")]), code: .notSupported, mentions: ["resourceTypes: 'Foo'"])
        assertFails(try get([("resourceTypes", "Group,Patient,Coverage,Observation")]), code: .notSupported,
                    mentions: ["resourceTypes: Observation", "not exported by the ATR export"])
        assertFails(try get([("resourceTypes", "Group,Patient")]), code: .invalid, mentions: ["resourceTypes must include", "Coverage"])
    }

    func testTypeAndResourceTypesTogetherAreRefusedNamingBoth() {
        let message = "_type and resourceTypes are synonyms: give the resource types in only one of them"
        assertFails(try get([("_type", "Group,Patient,Coverage"), ("resourceTypes", "Group,Patient,Coverage")]),
                    code: .invalid, mentions: [message])
        assertFails(try get([("resourceTypes", "Group,Patient,Coverage"), ("_type", "Location")]),
                    code: .invalid, mentions: [message])
        assertFails(try get([("_type", ""), ("resourceTypes", "Group,Patient,Coverage")]),
                    code: .invalid, mentions: [message])
        assertFails(try post(parameters([("_type", "valueString", #""Group,Patient,Coverage""#),
                                         ("resourceTypes", "valueString", #""Group,Patient,Coverage""#)])),
                    code: .invalid, mentions: [message])
        // Stays an error when lenient: it is not an unsupported parameter but a contradiction.
        assertFails(try get([("_type", "Group,Patient,Coverage"), ("resourceTypes", "Group")],
                            prefer: "respond-async, handling=lenient"),
                    code: .invalid, mentions: [message])
    }

    // MARK: _since / _until

    func testSinceAndUntil() throws {
        let request = try get([("_since", "2026-01-01T00:00:00Z"), ("_until", "2026-02-01T01:00:00+01:00")])
        XCTAssertEqual(request.since, FHIRInstant.parseInstant("2026-01-01T00:00:00Z"))
        XCTAssertEqual(request.until, FHIRInstant.parseInstant("2026-02-01T00:00:00Z"))
        XCTAssertEqual(try get([("_since", now.description)]).since, now)
    }

    func testSinceInPostValueForms() throws {
        for key in ["valueInstant", "valueDateTime", "valueString"] {
            let request = try post(parameters([("_since", key, #""2026-01-01T00:00:00Z""#)]))
            XCTAssertEqual(request.since, FHIRInstant.parseInstant("2026-01-01T00:00:00Z"), key)
        }
        assertFails(try post(parameters([("_since", "valueDateTime", #""2026-01-01""#)])), code: .value, mentions: ["_since", "2026-01-01"])
    }

    func testSinceUnencodedPlusInQueryIsTolerated() throws {
        XCTAssertEqual(try get([("_since", "2026-01-01T02:00:00 02:00")]).since, FHIRInstant.parseInstant("2026-01-01T00:00:00Z"))
    }

    func testSinceUntilInvalid() {
        assertFails(try get([("_since", "2026-01-01")]), code: .value, mentions: ["_since", "2026-01-01"])
        assertFails(try get([("_since", "2026-01-01T00:00:00")]), code: .value, mentions: ["_since", "time zone"])
        assertFails(try get([("_until", "yesterday")]), code: .value, mentions: ["_until", "yesterday"])
    }

    func testSinceInFuture() {
        assertFails(try get([("_since", "2026-06-01T12:00:00.001Z")]), code: .value, mentions: ["_since", "future"])
    }

    func testSinceAfterUntil() {
        assertFails(try get([("_since", "2026-03-01T00:00:00Z"), ("_until", "2026-02-01T00:00:00Z")]),
                    code: .value, mentions: ["_since", "_until"])
        XCTAssertNoThrow(try get([("_since", "2026-03-01T00:00:00Z"), ("_until", "2026-03-01T00:00:00Z")]))
    }

    func testSinceUntilOnlyOnce() {
        assertFails(try get([("_since", "2026-01-01T00:00:00Z"), ("_since", "2026-01-01T00:00:00Z")]), code: .invalid, mentions: ["_since"])
        assertFails(try post(parameters([("_until", "valueInstant", #""2026-01-01T00:00:00Z""#),
                                         ("_until", "valueInstant", #""2026-01-02T00:00:00Z""#)])),
                    code: .invalid, mentions: ["_until"])
    }

    // MARK: patient

    func testPatientInPost() throws {
        let body = #"{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/p1"}},{"name":"patient","valueReference":{"reference":"Patient/p2"}},{"name":"patient","valueReference":{"reference":"Patient/p1"}},{"name":"patient","valueReference":{"reference":"Patient/not valid"}}]}"#
        XCTAssertEqual(try post(body).patients, ["Patient/p1", "Patient/p2", "Patient/not valid"])
    }

    func testPatientWithoutReference() {
        assertFails(try post(#"{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"display":"x"}}]}"#),
                    code: .required, mentions: ["patient", "valueReference.reference"])
        assertFails(try post(#"{"resourceType":"Parameters","parameter":[{"name":"patient","valueString":"Patient/1"}]}"#),
                    code: .required, mentions: ["patient"])
        assertFails(try post(#"{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":7}}]}"#),
                    code: .structure, mentions: ["patient"])
    }

    func testPatientInGetRejected() {
        assertFails(try get([("patient", "Patient/p1")]), code: .notSupported, mentions: ["patient", "POST"])
        assertFails(try get([("patient", "Patient/p1")], prefer: "respond-async, handling=lenient"), code: .notSupported, mentions: ["patient"])
    }

    // MARK: _elements

    func testElements() throws {
        let request = try get([("_elements", "id, Patient.name,,Coverage.beneficiary"), ("_elements", "identifier,Patient.name")])
        XCTAssertEqual(request.elements, [
            ElementSelector(type: nil, element: "id"), ElementSelector(type: "Patient", element: "name"),
            ElementSelector(type: "Coverage", element: "beneficiary"), ElementSelector(type: nil, element: "identifier"),
        ])
        XCTAssertEqual(try post(parameters([("_elements", "valueString", #""Group.member""#)])).elements,
                       [ElementSelector(type: "Group", element: "member")])
    }

    func testElementsInvalid() {
        for bad in ["Name", "name.given", "Patient.name.given", "Foo.name", "Patient.", "na-me", "value[x]", "1abc"] {
            assertFails(try get([("_elements", "id,\(bad)")]), code: .value, mentions: ["_elements", bad])
        }
    }

    // MARK: _outputFormat

    func testOutputFormat() throws {
        for format in ["application/fhir+ndjson", "application/ndjson", "ndjson", "NDJSON", "Application/FHIR+NDJSON"] {
            XCTAssertEqual(try get([("_outputFormat", format)]).outputFormat, "application/fhir+ndjson", format)
        }
        // An unencoded '+' in the query arrives as a space.
        XCTAssertEqual(try get([("_outputFormat", "application/fhir ndjson")]).outputFormat, "application/fhir+ndjson")
        XCTAssertEqual(try post(parameters([("_outputFormat", "valueString", #""application/ndjson""#)])).outputFormat,
                       "application/fhir+ndjson")
    }

    func testOutputFormatInvalid() {
        assertFails(try get([("_outputFormat", "application/fhir+json")]), code: .notSupported, mentions: ["_outputFormat", "application/fhir+json"])
        assertFails(try get([("_outputFormat", "ndjson; charset=utf-8")]), code: .notSupported, mentions: ["_outputFormat"])
        assertFails(try post(parameters([("_outputFormat", "valueString", #""text/csv""#)])), code: .notSupported, mentions: ["_outputFormat", "text/csv"])
    }

    func testOutputFormatOnlyOnce() {
        assertFails(try get([("_outputFormat", "ndjson"), ("_outputFormat", "ndjson")]), code: .invalid, mentions: ["_outputFormat"])
    }

    // MARK: Unsupported parameters and lenient handling

    func testUnsupportedParametersRejected() {
        for name in ["_typeFilter", "includeAssociatedData", "organizeOutputBy", "allowPartialManifests", "_count", "foo"] {
            assertFails(try get([(name, "x")]), code: .notSupported, mentions: [name])
            assertFails(try post(parameters([(name, "valueString", #""x""#)])), code: .notSupported, mentions: [name])
        }
    }

    func testUnsupportedParametersIgnoredWhenLenient() throws {
        let lenient = "respond-async, handling=lenient"
        let request = try get([("_typeFilter", "Patient?active=true"), ("_type", "Group,Patient,Coverage,Location"),
                               ("includeAssociatedData", "LatestProvenanceResources"), ("_typeFilter", "Coverage?status=active"),
                               ("foo", "bar")], prefer: lenient)
        XCTAssertEqual(request.types, ["Group", "Patient", "Coverage", "Location"])
        XCTAssertEqual(request.ignored, [
            "_typeFilter is not supported and was ignored",
            "includeAssociatedData is not supported and was ignored",
            "foo is not supported and was ignored",
        ])
        let posted = try post(parameters([("organizeOutputBy", "valueString", #""Patient""#),
                                          ("allowPartialManifests", "valueBoolean", "true")]), prefer: lenient)
        XCTAssertEqual(posted.ignored, ["organizeOutputBy is not supported and was ignored",
                                        "allowPartialManifests is not supported and was ignored"])
    }

    func testLenientDoesNotExcuseBadValues() {
        let lenient = "respond-async, handling=lenient"
        assertFails(try get([("_type", "Observation")], prefer: lenient), code: .notSupported, mentions: ["Observation"])
        assertFails(try get([("_since", "soon")], prefer: lenient), code: .value, mentions: ["_since"])
    }

    // MARK: Order of checks

    func testFirstFailureWinsInParameterOrder() {
        assertFails(try get([("_outputFormat", "csv"), ("_since", "bad")]), code: .notSupported, mentions: ["_outputFormat"])
        assertFails(try get([("_since", "bad"), ("_outputFormat", "csv")]), code: .value, mentions: ["_since"])
        // The _type minimum is checked after all parameters: a later bad parameter wins.
        assertFails(try get([("_type", "Group"), ("_elements", "Bad")]), code: .value, mentions: ["_elements"])
    }

    func testHeadersCheckedBeforeBody() {
        XCTAssertThrowsError(try ExportKickoff.parse(
            method: "POST", operation: .davinciDataExport, groupId: "g1", query: [], accept: "text/html",
            prefer: "respond-async", contentType: "text/plain", body: Array("nonsense".utf8), now: now, requestURL: url)) { error in
            XCTAssertEqual((error as? FHIRError)?.status, 406)
        }
    }

    func testLongValuesAreTruncatedInDiagnostics() {
        let long = String(repeating: "x", count: 10_000)
        XCTAssertThrowsError(try get([("_outputFormat", long)])) { error in
            XCTAssertLessThan((error as? FHIRError)?.diagnostics.count ?? .max, 300)
        }
    }

    // MARK: Firely's example request

    func testFirelyPostExample() throws {
        let request = try post("""
        {
            "resourceType": "Parameters",
            "parameter": [
                { "name": "exportType", "valueCanonical": "http://hl7.org/fhir/us/davinci-atr" },
                { "name": "_since", "valueInstant": "2026-01-01T00:00:00Z" }
            ]
        }
        """)
        XCTAssertEqual(request.exportType, "hl7.fhir.us.davinci-atr")
        XCTAssertEqual(request.since?.description, "2026-01-01T00:00:00.000Z")
        XCTAssertEqual(request.types, ["Group", "Patient", "Coverage"])
    }

    // MARK: Stored form

    func testJSONRoundTrip() throws {
        let full = ExportRequest(
            groupId: "atr-1", operation: .export, exportType: ExportRequest.atrExportType,
            types: ["Group", "Patient", "Coverage", "Location"], typesRequested: true,
            since: FHIRInstant.parseInstant("2026-01-01T00:00:00.123Z"), until: FHIRInstant.parseInstant("2026-02-01T00:00:00Z"),
            patients: ["Patient/1", "Patient/2"],
            elements: [ElementSelector(type: nil, element: "id"), ElementSelector(type: "Patient", element: "name")],
            outputFormat: ExportRequest.ndjsonFormat, requestURL: "https://x/fhir/Group/atr-1/$export?_type=Group",
            ignored: ["_typeFilter is not supported and was ignored"])
        let json = full.toJSON()
        XCTAssertEqual(json["since"], "2026-01-01T00:00:00.123Z")
        XCTAssertEqual(json["elements"], ["id", "Patient.name"])
        XCTAssertEqual(try ExportRequest(json: json), full)
        // Through text, as stored in the task row.
        XCTAssertEqual(try ExportRequest(json: JSONParser.parse(json.serializedString)), full)

        let minimal = try get()
        XCTAssertNil(minimal.toJSON()["since"])
        XCTAssertEqual(try ExportRequest(json: minimal.toJSON()), minimal)
    }

    func testInitFromMalformedJSONThrows() {
        let good = (try? get())?.toJSON() ?? .null
        var cases: [JSONValue] = [.null, "x", [:]]
        for (key, value) in [("operation", JSONValue.string("$everything")), ("types", ["Observation"]),
                             ("typesRequested", "yes"), ("since", "2026-01-01"), ("elements", ["Bad.x.y"]),
                             ("patients", [1]), ("groupId", .null)] {
            guard var object = good.objectValue else { return XCTFail() }
            object[key] = value
            cases.append(.object(object))
        }
        for value in cases {
            XCTAssertThrowsError(try ExportRequest(json: value), value.serializedString) { error in
                XCTAssertEqual((error as? FHIRError)?.status, 500)
            }
        }
    }
}
