import XCTest
@testable import ExportDomain

final class FHIRPathTests: XCTestCase {
    private func object(_ text: String) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(text) else { fatalError("bad fixture \(text)") }
        return object
    }

    /// The selection as "path = value" strings (computed values as "= value").
    private func select(_ expression: String, _ resource: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            let compiled = try FHIRPathExpression(expression)
            return try compiled.evaluate(object(resource)).map { result in
                switch result {
                case .element(let e):
                    let path = e.location.map { c -> String in
                        switch c {
                        case .key(let k): return "." + k
                        case .index(let i): return "[\(i)]"
                        }
                    }.joined()
                    return path + " = " + (e.value.map(\.serializedString) ?? "(no value)")
                case .value(let v):
                    switch v {
                    case .boolean(let b): return "= \(b)"
                    case .string(let s): return "= '\(s)'"
                    case .number(let n): return "= \(n)"
                    }
                }
            }
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return []
        }
    }

    private func syntaxError(_ expression: String) -> FHIRPathError? {
        do {
            _ = try FHIRPathExpression(expression)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Model

    func testModelLookups() {
        XCTAssertEqual(R4Model.elementType(path: "Coverage.costToBeneficiary.valueMoney"), "Money")
        XCTAssertEqual(R4Model.elementType(path: "Patient.id"), "System.String")
        XCTAssertNil(R4Model.elementType(path: "Coverage.costToBeneficiary"))
        XCTAssertEqual(R4Model.choiceTypes(path: "Coverage.costToBeneficiary.value"), ["Quantity", "Money"])
        XCTAssertEqual(R4Model.choiceTypes(path: "Extension.value")?.contains("Money"), true)
        XCTAssertEqual(R4Model.definedElsewhere(path: "Questionnaire.item.item"), "Questionnaire.item")
        XCTAssertEqual(R4Model.parentType("SimpleQuantity"), "Quantity")
        XCTAssertTrue(R4Model.isSubtype("SimpleQuantity", of: "Quantity"))
        XCTAssertTrue(R4Model.isSubtype("MoneyQuantity", of: "Element"))
        XCTAssertTrue(R4Model.isSubtype("code", of: "string"))
        XCTAssertTrue(R4Model.isSubtype("Patient", of: "Resource"))
        XCTAssertFalse(R4Model.isSubtype("Money", of: "Quantity"))
        XCTAssertTrue(R4Model.isResourceType("Coverage"))
        XCTAssertFalse(R4Model.isResourceType("DomainResource"))
        XCTAssertFalse(R4Model.isResourceType("Money"))
        XCTAssertEqual(R4Model.resourceTypes.count, 146)
        XCTAssertTrue(R4Model.resourceTypes.contains("InsurancePlan"))
    }

    func testTypeGraphChildren() {
        let g = R4Model.graph
        let coverage = g.ids["Coverage"]!
        let ctb = g.childType(coverage, "costToBeneficiary")
        XCTAssertEqual(g.names[ctb], "Coverage.costToBeneficiary")
        XCTAssertEqual(g.kinds[ctb], .backbone)
        XCTAssertEqual(g.names[g.childType(ctb, "valueMoney")], "Money")
        XCTAssertEqual(g.names[g.childType(ctb, "valueQuantity")], "Quantity") // as fhirpathpy's model says
        XCTAssertEqual(g.choices[ctb]["value"]?.map(\.key), ["valueQuantity", "valueMoney"])
        // Inherited: SimpleQuantity has Quantity's elements.
        let simple = g.ids["SimpleQuantity"]!
        XCTAssertEqual(g.names[g.childType(simple, "value")], "decimal")
        // Content reference.
        let item = g.childType(g.ids["Questionnaire"]!, "item")
        XCTAssertEqual(g.names[g.childType(item, "item")], "Questionnaire.item")
        // Primitives have id and extension.
        XCTAssertEqual(g.names[g.childType(g.ids["date"]!, "id")], "System.String")
        XCTAssertEqual(g.childType(g.ids["date"]!, "extension"), g.extensionType)
        XCTAssertEqual(g.childType(g.unknown, "modifierExtension"), g.extensionType)
        XCTAssertEqual(g.childType(coverage, "bogus"), g.unknown)
    }
}

extension FHIRPathTests {
    // MARK: Navigation

    static let patient = #"""
    {"resourceType":"Patient","id":"p1","active":true,
     "extension":[{"url":"http://x/premium","valueMoney":{"value":12.50,"currency":"USD"}},
                  {"url":"http://x/nested","extension":[{"url":"a","valueString":"s"},{"url":"b","valueMoney":{"value":1,"currency":"EUR"}}]}],
     "name":[{"family":"Carter","given":["Alice","Marie"],"_given":[null,{"extension":[{"url":"http://x/n","valueCode":"x"}]}]}],
     "birthDate":"1968-04-12","_birthDate":{"extension":[{"url":"http://x/t","valueTime":"10:00:00"}]},
     "gender":"female",
     "contained":[{"resourceType":"Coverage","id":"c","status":"active","costToBeneficiary":[{"valueMoney":{"value":5}}]}]}
    """#

    func testMemberNavigation() {
        XCTAssertEqual(select("Patient.name.family", Self.patient), [".name[0].family = \"Carter\""])
        XCTAssertEqual(select("name.given", Self.patient), [".name[0].given[0] = \"Alice\"", ".name[0].given[1] = \"Marie\""])
        XCTAssertEqual(select("Coverage.status", Self.patient), [])
        XCTAssertEqual(select("Patient.`gender`", Self.patient), [".gender = \"female\""])
        XCTAssertEqual(select("birthDate.extension.url", Self.patient), ["._birthDate.extension[0].url = \"http://x/t\""])
        XCTAssertEqual(select("name.given.extension.value", Self.patient), [".name[0]._given[1].extension[0].valueCode = \"x\""])
        XCTAssertEqual(select("contained.status", Self.patient), [".contained[0].status = \"active\""])
        XCTAssertEqual(select("contained.Coverage.costToBeneficiary.value", Self.patient),
                       [".contained[0].costToBeneficiary[0].valueMoney = {\"value\":5}"])
    }

    func testChoiceTypes() {
        XCTAssertEqual(select("extension.value", Self.patient), [".extension[0].valueMoney = {\"value\":12.50,\"currency\":\"USD\"}"])
        XCTAssertEqual(select("extension.extension.value", Self.patient),
                       [".extension[1].extension[0].valueString = \"s\"", ".extension[1].extension[1].valueMoney = {\"value\":1,\"currency\":\"EUR\"}"])
        XCTAssertEqual(select("extension.extension.value.ofType(Money).currency", Self.patient), [".extension[1].extension[1].valueMoney.currency = \"EUR\""])
        XCTAssertEqual(select("extension.valueMoney.value", Self.patient), [".extension[0].valueMoney.value = 12.50"])
        XCTAssertEqual(select("extension.value is Money", Self.patient), ["= true"])
        XCTAssertEqual(select("extension.value.as(Money).value", Self.patient), [".extension[0].valueMoney.value = 12.50"])
    }

    func testDescendantsAndTypes() {
        XCTAssertEqual(select("descendants().where($this is Money)", Self.patient), [
            // Level by level (breadth first), like fhirpathpy.
            ".extension[0].valueMoney = {\"value\":12.50,\"currency\":\"USD\"}",
            ".extension[1].extension[1].valueMoney = {\"value\":1,\"currency\":\"EUR\"}",
            ".contained[0].costToBeneficiary[0].valueMoney = {\"value\":5}",
        ])
        XCTAssertEqual(select("descendants().ofType(Money).count", Self.patient), [])
        XCTAssertEqual(select("descendants().where($this is Element).exists()", Self.patient), ["= true"])
        XCTAssertEqual(select("descendants().ofType(Time)", Self.patient), [])
        XCTAssertEqual(select("descendants().ofType(time)", Self.patient), ["._birthDate.extension[0].valueTime = \"10:00:00\""])
        XCTAssertEqual(select("descendants().ofType(code)", Self.patient), [
            ".gender = \"female\"", ".contained[0].status = \"active\"", ".extension[0].valueMoney.currency = \"USD\"",
            ".extension[1].extension[1].valueMoney.currency = \"EUR\"", ".name[0]._given[1].extension[0].valueCode = \"x\"",
        ])
        XCTAssertEqual(select("children().ofType(Extension).url", Self.patient), [".extension[0].url = \"http://x/premium\"", ".extension[1].url = \"http://x/nested\""])
        XCTAssertEqual(select("extension.url.first() is String", Self.patient), ["= true"])
        XCTAssertEqual(select("extension.url.first() is System.String", Self.patient), ["= true"])
        XCTAssertEqual(select("extension.url.first() is string", Self.patient), ["= false"])
        XCTAssertEqual(select("active is Boolean", Self.patient), ["= false"])
        XCTAssertEqual(select("active is boolean", Self.patient), ["= true"])
        XCTAssertEqual(select("gender is string", Self.patient), ["= true"])
        XCTAssertEqual(select("$this is DomainResource", Self.patient), ["= true"])
        XCTAssertEqual(select("name is FHIR.HumanName", Self.patient), ["= true"])
        XCTAssertEqual(select("name.children().first() is BackboneElement", Self.patient), ["= false"])
        XCTAssertEqual(select("contained.costToBeneficiary is BackboneElement", Self.patient), ["= true"])
    }

    func testLogicAndEquality() {
        XCTAssertEqual(select("name.where(family = 'Carter').given.first()", Self.patient), [".name[0].given[0] = \"Alice\""])
        XCTAssertEqual(select("name.where(family != 'Carter')", Self.patient), [])
        XCTAssertEqual(select("extension.where(url = 'http://x/premium' or url = 'http://x/nested').url.empty()", Self.patient), ["= false"])
        XCTAssertEqual(select("active = true and gender = 'female'", Self.patient), ["= true"])
        XCTAssertEqual(select("active and missing.exists()", Self.patient), ["= false"])
        XCTAssertEqual(select("active and missing", Self.patient), [])
        XCTAssertEqual(select("active or missing", Self.patient), ["= true"])
        XCTAssertEqual(select("active.not()", Self.patient), ["= false"])
        XCTAssertEqual(select("missing.not()", Self.patient), [])
        XCTAssertEqual(select("extension.valueMoney.value = 12.5", Self.patient), ["= true"])
        XCTAssertEqual(select("extension.valueMoney.value = 12.51", Self.patient), ["= false"])
        XCTAssertEqual(select("birthDate = '1968-04-12'", Self.patient), ["= false"])
        XCTAssertEqual(select("name.given = 'Alice'", Self.patient), ["= false"])
        XCTAssertEqual(select("name.given.first() = 'Alice'", Self.patient), ["= true"])
        XCTAssertEqual(select("missing = 'x'", Self.patient), [])
        XCTAssertEqual(select("contained.costToBeneficiary.valueMoney = contained.costToBeneficiary.value", Self.patient), ["= true"])
        XCTAssertEqual(select("exists(gender = 'female')", Self.patient), ["= true"])
        XCTAssertEqual(select("name.exists(given = 'Zed')", Self.patient), ["= false"])
        XCTAssertEqual(select("'a' | 'b' | 'a'", Self.patient), ["= 'a'", "= 'b'"])
        XCTAssertEqual(select("gender | gender | name.family", Self.patient), [".gender = \"female\"", ".name[0].family = \"Carter\""])
        XCTAssertEqual(select("-1.50 = -1.5", Self.patient), ["= true"])
        XCTAssertEqual(select("(true)", Self.patient), ["= true"])
        XCTAssertEqual(select("gender as code", Self.patient), [".gender = \"female\""])
        XCTAssertEqual(select("gender as Money", Self.patient), [])
    }

    func testEvaluationErrors() throws {
        let resource = object(Self.patient)
        XCTAssertThrowsError(try FHIRPathExpression("name.given is string").evaluate(resource)) { error in
            XCTAssertEqual((error as? FHIRPathError)?.position, 12)
        }
        XCTAssertThrowsError(try FHIRPathExpression("name.where(given)").evaluate(resource))
        XCTAssertThrowsError(try FHIRPathExpression("extension.url is String").evaluate(resource))
        XCTAssertThrowsError(try FHIRPathExpression("name.given and true").evaluate(resource))
    }

    // MARK: Errors at compile time

    func testSyntaxErrors() {
        let cases: [(String, Int, String)] = [
            ("descendants().foo()", 15, "unsupported function 'foo'"),
            ("Patient.name.count()", 14, "unsupported function 'count'"),
            ("Patient.name[0]", 13, "unsupported indexer '['"),
            ("Patient.name + 1", 14, "unsupported operator '+'"),
            ("a xor b", 3, "unsupported operator 'xor'"),
            ("a implies b", 3, "unsupported operator 'implies'"),
            ("a < b", 3, "unsupported operator '<'"),
            ("a ~ b", 3, "unsupported operator '~'"),
            ("name in %list", 6, "unsupported operator 'in'"),
            ("%resource.id", 1, "unsupported environment variable '%resource'"),
            ("where($index = 0)", 7, "unsupported variable '$index'"),
            ("birthDate = @2020-01-01", 13, "unsupported date/time literal '@2020-01-01'"),
            ("value = 4 'mg'", 9, "unsupported quantity literal"),
            ("{}", 1, "unsupported empty collection literal '{}'"),
            ("where()", 1, "function 'where' takes 1 argument, got 0"),
            ("first(1)", 7, "function 'first' takes no arguments"),
            ("exists(a, b)", 11, "function 'exists' takes 0 to 1 arguments"),
            ("descendants().where($this is Mony)", 30, "unknown type 'Mony'"),
            ("descendants().ofType(System.Money)", 22, "unknown type 'System.Money'"),
            ("Covrage.costToBeneficiary", 1, "unknown resource type 'Covrage'"),
            ("Money.value", 1, "unknown resource type 'Money'"),
            ("name.", 6, "unexpected end of expression"),
            ("(name", 1, "missing ')'"),
            ("name)", 5, "unexpected ')'"),
            ("'abc", 1, "unterminated string literal"),
            ("\"abc\"", 1, "strings are written with single quotes ('…'), not double quotes"),
            ("", 1, "empty expression"),
            ("name.$this", 6, "'$this' cannot follow '.'"),
            ("a # b", 3, "unexpected character '#'"),
            ("name.is()", 6, "function 'is' takes 1 argument, got 0"),
            ("name is", 8, "missing type name"),
        ]
        for (expression, position, message) in cases {
            let error = syntaxError(expression)
            XCTAssertEqual(error?.message, message, expression)
            XCTAssertEqual(error?.position, position, expression)
        }
        XCTAssertEqual(syntaxError("descendants().foo()")?.description,
                       "unsupported function 'foo' at position 15 in expression 'descendants().foo()'")
        // Deep nesting is refused, not a crash.
        let deep = String(repeating: "(", count: 500) + "a" + String(repeating: ")", count: 500)
        XCTAssertEqual(syntaxError(deep)?.message, "expression nested too deeply")
    }

    func testSupportedSubsetParses() {
        for expression in [
            "descendants().where($this is Money)", "Coverage.costToBeneficiary",
            "Patient.name.where(use = 'official').family", "extension.where(url = 'x').value.ofType(Money)",
            "children().exists() and empty().not() or first().exists()", "contained.as(Coverage).costToBeneficiary",
            "descendants().is(FHIR.Money).not()", "Resource.meta", "DomainResource.text", "'\\u00e9\\'\\n' = 'é'",
            "name.where(given.exists(true))", "$this.name | $this.telecom", "value.is(System.String)",
            "// comment\n name /* block */ .family",
        ] {
            XCTAssertNil(syntaxError(expression), expression)
        }
        // Without the model (other FHIR versions) only the syntax is checked.
        XCTAssertNoThrow(try FHIRPathExpression.checkSyntax("Foo.bar.where($this is Whatever)"))
        XCTAssertThrowsError(try FHIRPathExpression.checkSyntax("Foo.bar.count()"))
    }
}
