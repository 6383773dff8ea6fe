import Foundation
import XCTest
@testable import ExportDomain

/// Redaction on bytes against the tree path: for every streamable expression and every
/// resource of the FHIRPath corpus (and the tricky shapes below), both give the same bytes.
final class StreamingRedactionTests: XCTestCase {
    private static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fhirpath-differential")

    /// Shapes the corpus lacks: contained resources, companions, null slots, nested
    /// extensions, every placement of the SUBSETTED tag.
    private static let shapes = [
        #"{"resourceType":"Coverage","id":"c","costToBeneficiary":[{"valueMoney":{"value":1}}],"status":"active"}"#,
        #"{"resourceType":"Coverage","status":"active","costToBeneficiary":[{"type":{"text":"t"},"valueQuantity":{"value":2}}],"id":"c"}"#,
        #"{"id":"c","resourceType":"Coverage","meta":null,"extension":[{"url":"a","valueMoney":{"value":1}},{"url":"b","valueString":"s"}]}"#,
        #"{"resourceType":"Coverage","meta":{"versionId":"1"},"extension":[{"url":"a","valueMoney":{"value":1}}]}"#,
        #"{"resourceType":"Coverage","meta":{},"extension":[{"url":"a","valueMoney":{"value":1}}]}"#,
        #"{"resourceType":"Coverage","meta":{ "versionId" : "1" },"extension":[{"url":"a","valueMoney":{"value":1}}]}"#,
        #"{"resourceType":"Coverage","meta":{"source":"a\/b é","profile":["x y"]},"extension":[{"url":"a","valueMoney":{"value":1}}]}"#,
        #"{"resourceType":"Coverage","meta":{"security":[{"code":"x"}],"extension":[{"url":"u","valueDecimal":1.50}]},"costToBeneficiary":[{"valueMoney":{"value":1}}]}"#,
        #"{"resourceType":"Coverage","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]},"extension":[{"url":"a","valueMoney":{"value":1}}]}"#,
        #"{"resourceType":"Coverage","meta":{"tag":{"code":"x"}},"extension":[{"url":"a","id":"i","valueMoney":{"value":1}}],"id":"late"}"#,
        #"{"extension":[{"url":"a","valueMoney":{"value":1}}],"meta":7}"#,
        #"{"resourceType":"Patient","id":"p","extension":[{"url":"o","extension":[{"url":"i","valueMoney":{"value":1}}]},{"url":"k","extension":[{"url":"i","valueMoney":{"value":1}},{"url":"j","valueCode":"x"}]}]}"#,
        #"{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Coverage","id":"cv","costToBeneficiary":[{"valueMoney":{"value":4}}]},{"id":"o","resourceType":"Organization","extension":[{"url":"u","valueMoney":{"value":5}}]}],"active":true}"#,
        #"{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Patient","id":"x","name":[{"given":["a"]}]}],"name":[{"given":["b"],"family":"f"}]}"#,
        #"{"resourceType":"Patient","birthDate":"2000","_birthDate":{"extension":[{"url":"u","valueMoney":{"value":1}}]}}"#,
        #"{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null,{"id":"g"}]}],"birthDate":"1","_birthDate":{"id":"b"}}"#,
        #"{"resourceType":"Patient","id":"p","name":[null,{"given":null}],"telecom":[],"address":[null]}"#,
        #"{"resourceType":"Patient","id":"p","extension":[null,{"url":"u","valueMoney":{"value":1}}],"link":[{"other":{"reference":"x"},"extension":[{"url":"u","valueMoney":{}}]}]}"#,
        #"{"resourceType":"Claim","id":"c","item":[{"sequence":1,"net":{"value":1},"unitPrice":{"value":2},"detail":[{"net":{"value":3},"id":"d"}]}],"total":{"value":9}}"#,
        #"{"resourceType":"Claim","id":"c","item":[{"id":"only","net":{"value":1}}],"total":[[1,2]],"unknownThing":{"extension":[{"url":"x","valueMoney":{"value":1}}]}}"#,
        #"{ "resourceType" : "Coverage" , "extension" : [ { "url" : "a" , "valueMoney" : { "value" : 1 } } ] , "class" : [ [ 1 , 2 ] ] }"#,
        #"{"resourceType":"Coverage","extension":[{"url":"a","valueMoney":{"value":1}}],"note":"a \"quoted\" text"}"#,
    ]

    private static let expressions = [
        "descendants().where($this is Money)", "Coverage.costToBeneficiary",
        "descendants().where($this is Money) | Coverage.costToBeneficiary",
        "descendants().ofType(Money)", "descendants().ofType(Quantity)", "descendants().ofType(Coding)",
        "descendants().ofType(Extension)", "descendants().ofType(Reference)", "descendants().ofType(Period)",
        "descendants().ofType(HumanName)", "descendants().ofType(Coverage)", "descendants().ofType(Patient)",
        "Patient.name.given", "Patient.name", "Patient.birthDate", "name.given", "Patient.contact.name",
        "Coverage.costToBeneficiary.exception", "Group.member.entity", "Group.characteristic | Group.member",
        "Claim.item.detail", "Patient.extension", "meta",
    ]

    private static func corpusResources() throws -> [[UInt8]] {
        let data = try Data(contentsOf: directory.appendingPathComponent("corpus.json"))
        guard let resources = try JSONParser.parse([UInt8](data))["resources"]?.objectValue else { return [] }
        return resources.map { $0.value.serialized() }
    }

    func testBytesMatchTheTreeOnTheCorpusAndTrickyShapes() throws {
        var resources = try Self.corpusResources()
        XCTAssertGreaterThanOrEqual(resources.count, 10)
        resources += Self.shapes.map { Array($0.utf8) }
        var expressions = Self.expressions
        let corpus = try JSONParser.parse([UInt8](Data(contentsOf: Self.directory.appendingPathComponent("corpus.json"))))
        expressions += (corpus["expressions"]?.arrayValue ?? []).compactMap { $0["expression"]?.stringValue }

        var streamedChanges = 0
        var streamingRedactors = 0
        for expression in Set(expressions).sorted() {
            // Only streamable expressions need the (slower to build) redactor.
            guard let compiled = try? FHIRPathExpression(expression), StreamingRedaction([compiled]) != nil,
                  let redactor = try? Redactor(fhirVersions: ["Fhir4.0"], omitElements: [expression]),
                  let streaming = redactor.streaming else { continue }
            streamingRedactors += 1
            for json in resources {
                guard case .object(let parsed)? = try? JSONParser.parse(json) else { continue }
                let typeName = parsed["resourceType"]?.stringValue ?? "Coverage"
                let type = ResourceType(rawValue: typeName)
                let tree = try redactor.redactByTree(type: type, json: json)
                let bytes = try redactor.redact(type: type, json: json)
                XCTAssertEqual(bytes.map { String(decoding: $0, as: UTF8.self) }, tree.map { String(decoding: $0, as: UTF8.self) },
                               "\(expression) on \(String(decoding: json, as: UTF8.self))")
                if let rootType = R4Model.graph.ids[typeName], case .redacted = streaming.redact(json, rootType: rootType) {
                    streamedChanges += 1
                }
            }
        }
        print("streaming redactors: \(streamingRedactors), resources changed by the walk: \(streamedChanges)")
        XCTAssertGreaterThanOrEqual(streamingRedactors, 30)
        XCTAssertGreaterThanOrEqual(streamedChanges, 150, "the walk itself must do most of the work")
    }

    func testTheSubsettedTagOnBytesIsTheTrees() throws {
        for text in [#"{"resourceType":"Coverage","meta":{"versionId":"1"},"id":"c"}"#, #"{"meta":{},"id":"c"}"#,
                     #"{"id":"c","meta":{ "versionId" : "1" }}"#, #"{"meta":{"source":"a\\/b"}}"#,
                     #"{"meta":{"tag":[{"code":"x"}]}}"#, #"{"id":"c","resourceType":"Coverage"}"#, #"{"meta":null,"id":"c"}"#] {
            guard case .object(var tree) = try JSONParser.parse(Array(text.utf8)) else { return XCTFail(text) }
            Subsetting.addSubsettedTag(&tree)
            XCTAssertEqual(SubsettedTagOnBytes.adding(to: Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) },
                           JSONValue.object(tree).serializedString, text)
        }
    }

    func testWhichExpressionsStream() throws {
        func streams(_ expressions: [String]) throws -> Bool {
            StreamingRedaction(try expressions.map { try FHIRPathExpression($0) }) != nil
        }
        XCTAssertTrue(RedactionTests.seed.redactsOnBytes)
        XCTAssertTrue(try streams(["descendants().where($this is Money)", "Coverage.costToBeneficiary"]))
        XCTAssertTrue(try streams(["descendants().ofType(Coding) | Patient.name.given"]))
        XCTAssertFalse(try streams(["Coverage.costToBeneficiary.value"]), "a choice base name")
        XCTAssertFalse(try streams(["descendants().ofType(string)"]), "primitives have companions")
        XCTAssertFalse(try streams(["descendants().ofType(Element)"]), "every primitive is an Element")
        XCTAssertFalse(try streams(["descendants().ofType(BackboneElement)"]), "unknown elements are BackboneElements")
        XCTAssertFalse(try streams(["Patient.name.where(use = 'official')"]))
        XCTAssertFalse(try streams(["Patient.birthDate.extension"]), "a step through a primitive")
        XCTAssertFalse(try streams(["Patient.contained.id"]), "a step through a Resource")
        XCTAssertFalse(try streams(["descendants().where($this is Money)", "Patient.identifier.first()"]))
        XCTAssertFalse(Redactor.inactive.redactsOnBytes)
    }

    func testCompanionsAndEscapedKeysGoToTheTree() throws {
        let redactor = try Redactor(fhirVersions: ["Fhir4.0"], omitElements: ["descendants().where($this is Money)", "Patient.birthDate"])
        let streaming = try XCTUnwrap(redactor.streaming)
        let patient = R4Model.graph.ids["Patient"]!
        func outcome(_ text: String) -> StreamingRedaction.Outcome { streaming.redact(Array(text.utf8), rootType: patient) }
        XCTAssertEqual(outcome(#"{"resourceType":"Patient","_gender":{"extension":[{"url":"u","valueMoney":{"value":1}}]}}"#), .needsTree)
        XCTAssertEqual(outcome(#"{"resourceType":"Patient","birthDate":"2000","_birthDate":{"id":"b"}}"#), .needsTree)
        XCTAssertEqual(outcome(#"{"resourceType":"Patient","ext\u0065nsion":[{"url":"u","valueMoney":{"value":1}}]}"#), .needsTree)
        XCTAssertEqual(outcome(#"{"resourceType":"Patient","gender":"male","_gender":{"id":"g"}}"#), .unchanged)
        XCTAssertEqual(outcome(#"{"resourceType":"Patient","birthDate":"2000"}"#),
                       .redacted(Array(#"{"resourceType":"Patient","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"subsetted"}]}}"#.utf8)))
        XCTAssertEqual(outcome(#"{"resourceType":"Patient","id":"p","#), .needsTree, "truncated")
    }
}
