import XCTest
@testable import ExportDomain

final class JSONTests: XCTestCase {

    // MARK: - Helpers

    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        do {
            return try JSONParser.parse(text)
        } catch {
            XCTFail("unexpected rejection of \(text.debugDescription): \(error)", file: file, line: line)
            return nil
        }
    }

    /// Asserts that `bytes` is rejected at `offset` with exactly `message`.
    private func assertRejects(
        _ bytes: [UInt8], offset: Int, message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let value = try JSONParser.parse(bytes)
            XCTFail("expected rejection of \(bytes), got \(value)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.message, message, "message for \(String(decoding: bytes, as: UTF8.self).debugDescription)", file: file, line: line)
            XCTAssertEqual(error.offset, offset, "offset for \(String(decoding: bytes, as: UTF8.self).debugDescription) (\(error.message))", file: file, line: line)
        }
    }

    private func assertRejects(
        _ text: String, offset: Int, message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertRejects(Array(text.utf8), offset: offset, message: message, file: file, line: line)
        // The String entry point must agree with the byte entry point.
        do {
            _ = try JSONParser.parse(text)
            XCTFail("String overload accepted \(text.debugDescription)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, JSONSyntaxError(offset: offset, message: message), file: file, line: line)
        }
    }

    private func assertRoundTripsExactly(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let value = parse(text, file: file, line: line) else { return }
        XCTAssertEqual(value.serializedString, text, file: file, line: line)
        XCTAssertEqual(value.serialized(), Array(text.utf8), file: file, line: line)
    }

    // MARK: - Round trips

    func testCompactDocumentsRoundTripByteIdentical() {
        let docs = [
            #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2024-01-02T03:04:05.678+01:00"},"active":true,"deceasedBoolean":false,"name":[{"family":"Müller","given":["Anna","Zoë"]}],"multipleBirthInteger":2,"extension":[],"contained":{},"note":null,"weight":1.10}"#,
            #"[]"#, #"{}"#, #"[[],{},[[]],{"a":{}}]"#,
            #"null"#, #"true"#, #"false"#, #"0"#, #"-0"#, #""""#, #""x""#,
            #"[1,-2,3.25,4e10,5E-3,6.0e+2]"#,
            #"{"text":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a\\b\nc\td</div>"}"#,
            #"["\u0000\u0001\u001f","\b\f\n\r\t"]"#,
            #"{"emoji":"😀","cjk":"漢字","combining":"e\#u{301}","rtl":"שלום"}"#,
        ]
        for doc in docs { assertRoundTripsExactly(doc) }
    }

    func testWhitespaceIsDroppedOnSerialization() throws {
        let value = try JSONParser.parse(" \t\r\n{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : { } }\r\n ")
        XCTAssertEqual(value.serializedString, #"{"a":[1,2],"b":{}}"#)
    }

    func testEscapesAreNormalizedOnSerialization() throws {
        // "\/" and "\u00e9" need no escaping on output; "\u001F" is written in lowercase hex.
        let value = try JSONParser.parse(#"["\/","\u00e9","\u001F","\u0022\u005c","\ud83d\ude00"]"#)
        XCTAssertEqual(value.serializedString, #"["/","é","\u001f","\"\\","😀"]"#)
    }

    func testStringAndByteEntryPointsAgree() throws {
        let text = #"{"a":[1,"é",{"b":null}]}"#
        XCTAssertEqual(try JSONParser.parse(text), try JSONParser.parse(Array(text.utf8)))
        XCTAssertEqual(try JSONParser.parse(text[...]), try JSONParser.parse(Array(text.utf8)[...]))
    }

    func testSliceOffsetsAreRelativeToSlice() {
        let bytes = Array(#"{"ok":1}\#n{"bad" 1}\#n"#.utf8)
        let lines = bytes.split(separator: 0x0A)
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(try JSONParser.parse(lines[0]), ["ok": 1])
        XCTAssertThrowsError(try JSONParser.parse(lines[1])) { error in
            XCTAssertEqual(error as? JSONSyntaxError, JSONSyntaxError(offset: 7, message: "expected ':' after object key"))
        }
    }

    func testSerializeIntoAppends() {
        var buffer = Array("x".utf8)
        JSONValue.array([.null, .bool(true)]).serialize(into: &buffer)
        buffer.append(0x0A)
        JSONObject([("a", .number("1"))]).serialize(into: &buffer)
        XCTAssertEqual(String(decoding: buffer, as: UTF8.self), "x[null,true]\n{\"a\":1}")
    }

    // MARK: - Numbers

    func testNumberLiteralsArePreservedExactly() throws {
        let literals = [
            "1.10", "-0", "1e5", "1E-7", "0.0", "-0.0", "0", "10", "1E+2", "1e+0", "-1.5e-10", "100.000",
            "123456789012345678901234567890.123456789012345678901234567890",
            "0.30000000000000000000000000001", "9007199254740993", "1.7976931348623157e309",
        ]
        for literal in literals {
            XCTAssertEqual(try JSONParser.parse(literal), .number(literal), literal)
            XCTAssertEqual(try JSONParser.parse("[\(literal)]"), .array([.number(literal)]), literal)
            assertRoundTripsExactly(#"{"valueDecimal":\#(literal)}"#)
            XCTAssertTrue(JSONValue.isValidNumberLiteral(literal), literal)
        }
        // Literal equality: 1.10 and 1.1 are different literals.
        XCTAssertNotEqual(try JSONParser.parse("1.10"), try JSONParser.parse("1.1"))
    }

    func testNumberLiteralValidator() {
        for bad in ["", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "1.e5", "NaN", "Infinity", "0x10", " 1", "1 ", "1,0"] {
            XCTAssertFalse(JSONValue.isValidNumberLiteral(bad), bad)
        }
    }

    func testNumberAccessors() throws {
        XCTAssertEqual(try JSONParser.parse("42").intValue, 42)
        XCTAssertEqual(try JSONParser.parse("-7").intValue, -7)
        XCTAssertNil(try JSONParser.parse("1.5").intValue)
        XCTAssertNil(try JSONParser.parse("1e3").intValue)
        XCTAssertEqual(try JSONParser.parse("1.5").doubleValue, 1.5)
        XCTAssertEqual(try JSONParser.parse("1.10").numberLiteral, "1.10")
        XCTAssertEqual(JSONValue.integer(UInt8(200)), .number("200"))
        XCTAssertNil(JSONValue.string("1").intValue)
    }

    // MARK: - Key order and objects

    func testKeyOrderIsPreserved() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"m":3,"b":{"y":1,"x":2}}"#)
        XCTAssertEqual(value.objectValue?.keys, ["z", "a", "m", "b"])
        XCTAssertEqual(value["b"]?.objectValue?.keys, ["y", "x"])
        XCTAssertEqual(value.objectValue?.map(\.key), ["z", "a", "m", "b"])
        XCTAssertEqual(value.serializedString, #"{"z":1,"a":2,"m":3,"b":{"y":1,"x":2}}"#)
    }

    func testLargeObjectKeepsOrderAndLookups() throws {
        // Exercises the hashed index used for objects with many members.
        let keys = (0..<200).map { "k\(($0 * 7919) % 1000)" }
        let text = "{" + keys.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ",") + "}"
        let value = try JSONParser.parse(text)
        XCTAssertEqual(value.objectValue?.keys, keys)
        for (i, k) in keys.enumerated() { XCTAssertEqual(value[k], .number(String(i))) }
        XCTAssertNil(value["missing"])
        XCTAssertEqual(value.serializedString, text)

        var object = try XCTUnwrap(value.objectValue)
        XCTAssertEqual(object.removeValue(forKey: keys[100]), .number("100"))
        XCTAssertNil(object[keys[100]])
        XCTAssertEqual(object[keys[101]], .number("101"))
        XCTAssertEqual(object.index(forKey: keys[101]), 100)
        object.insert(.null, forKey: "first", at: 0)
        XCTAssertEqual(object.index(forKey: "first"), 0)
        XCTAssertEqual(object.index(forKey: keys[199]), 199)
        XCTAssertEqual(object[keys[199]], .number("199"))
        while object.count > 3 { _ = object.removeValue(forKey: object.keys[object.count - 1]) }
        XCTAssertEqual(object.keys, ["first", keys[0], keys[1]])
        XCTAssertEqual(object[keys[1]], .number("1"))
    }

    func testJSONObjectSubscriptSemantics() {
        var object = JSONObject()
        XCTAssertTrue(object.isEmpty)
        object["id"] = "p1"
        object["active"] = true
        object["name"] = "x"
        XCTAssertEqual(object.keys, ["id", "active", "name"])
        XCTAssertEqual(object.count, 3)
        XCTAssertFalse(object.isEmpty)

        // Replacing an existing key keeps its position.
        object["active"] = false
        XCTAssertEqual(object.keys, ["id", "active", "name"])
        XCTAssertEqual(object["active"], .bool(false))

        // Setting nil removes.
        object["id"] = nil
        XCTAssertEqual(object.keys, ["active", "name"])
        XCTAssertNil(object["id"])
        object["missing"] = nil
        XCTAssertEqual(object.count, 2)

        // Re-adding appends at the end.
        object["id"] = "p2"
        XCTAssertEqual(object.keys, ["active", "name", "id"])

        XCTAssertEqual(object.removeValue(forKey: "name"), .string("x"))
        XCTAssertNil(object.removeValue(forKey: "name"))
        XCTAssertEqual(object.keys, ["active", "id"])
    }

    func testJSONObjectInsertSemantics() throws {
        var object = try XCTUnwrap(JSONParser.parse(#"{"resourceType":"Patient","id":"p1","active":true}"#).objectValue)
        let afterID = (object.index(forKey: "id") ?? -1) + 1
        object.insert(["versionId": "1"], forKey: "meta", at: afterID)
        XCTAssertEqual(JSONValue.object(object).serializedString,
                       #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"active":true}"#)

        // Inserting an existing key moves it; `at` refers to the positions before the call.
        object.insert(false, forKey: "active", at: 0)
        XCTAssertEqual(object.keys, ["active", "resourceType", "id", "meta"])
        XCTAssertEqual(object["active"], .bool(false))
        object.insert("Patient", forKey: "resourceType", at: 0)
        XCTAssertEqual(object.keys, ["resourceType", "active", "id", "meta"])

        // Out-of-range indices are clamped.
        object.insert(1, forKey: "end", at: 99)
        object.insert(2, forKey: "start", at: -5)
        XCTAssertEqual(object.keys, ["start", "resourceType", "active", "id", "meta", "end"])
        object.insert(3, forKey: "end2", at: object.count)
        XCTAssertEqual(object.keys.last, "end2")

        // Moving an existing key that sits *before* the target position: "meta" must land
        // right after "id", with the index computed from the current keys.
        var misplaced: JSONObject = ["resourceType": "Patient", "meta": ["versionId": "1"], "id": "p1", "active": true]
        misplaced.insert(["versionId": "2"], forKey: "meta", at: (misplaced.index(forKey: "id") ?? -1) + 1)
        XCTAssertEqual(misplaced.keys, ["resourceType", "id", "meta", "active"])
        XCTAssertEqual(misplaced["meta"], ["versionId": "2"])
        // Already in place: stays in place.
        misplaced.insert(["versionId": "3"], forKey: "meta", at: (misplaced.index(forKey: "id") ?? -1) + 1)
        XCTAssertEqual(misplaced.keys, ["resourceType", "id", "meta", "active"])
        // Moving forward to the end and backward to the front.
        misplaced.insert(1, forKey: "resourceType", at: misplaced.count)
        XCTAssertEqual(misplaced.keys, ["id", "meta", "active", "resourceType"])
        misplaced.insert(2, forKey: "active", at: 0)
        XCTAssertEqual(misplaced.keys, ["active", "id", "meta", "resourceType"])
        misplaced.insert(3, forKey: "active", at: 1)   // before "id", i.e. where it already is
        XCTAssertEqual(misplaced.keys, ["active", "id", "meta", "resourceType"])
        misplaced.insert(4, forKey: "active", at: 2)   // before "meta"
        XCTAssertEqual(misplaced.keys, ["id", "active", "meta", "resourceType"])
    }

    func testJSONObjectInitSequenceAndEquality() {
        let object = JSONObject([("b", 1), ("a", 2), ("b", 3)])
        XCTAssertEqual(object.keys, ["b", "a"])
        XCTAssertEqual(object["b"], .number("3"))
        var seen: [String] = []
        for (key, value) in object {
            seen.append("\(key)=\(value.serializedString)")
        }
        XCTAssertEqual(seen, ["b=3", "a=2"])
        XCTAssertEqual(object[position: 1].key, "a")

        let literal: JSONObject = ["b": 3, "a": 2]
        XCTAssertEqual(object, literal)
        XCTAssertEqual(object.hashValue, literal.hashValue)
        // Equality is order-sensitive, matching the serialized form.
        let reordered: JSONObject = ["a": 2, "b": 3]
        XCTAssertNotEqual(object, reordered)
        XCTAssertEqual(Set([JSONValue.object(object), .object(literal), .object(reordered)]).count, 2)
    }

    func testValueAccessors() throws {
        let value = try JSONParser.parse(#"{"s":"x","b":true,"a":[1,null],"o":{"k":"v"},"n":null}"#)
        XCTAssertEqual(value["s"]?.stringValue, "x")
        XCTAssertEqual(value["b"]?.boolValue, true)
        XCTAssertEqual(value["a"]?.arrayValue, [1, .null])
        XCTAssertEqual(value["a"]?[1], .null)
        XCTAssertNil(value["a"]?[2])
        XCTAssertNil(value["a"]?[-1])
        XCTAssertEqual(value["o"]?["k"], "v")
        XCTAssertEqual(value["n"]?.isNull, true)
        XCTAssertNil(value["missing"])
        XCTAssertNil(value["s"]?["k"])      // subscript on a non-object
        XCTAssertNil(value["s"]?.objectValue)
        XCTAssertNil(value["s"]?.arrayValue)
        XCTAssertNil(value["s"]?.boolValue)
        XCTAssertNil(value["b"]?.stringValue)
        XCTAssertEqual(value.description, value.serializedString)
    }

    // MARK: - Strings

    func testUnicodeEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(try JSONParser.parse(#""\u00e9\u00C9""#), .string("éÉ"))
        XCTAssertEqual(try JSONParser.parse(#""\u20AC""#), .string("€"))
        XCTAssertEqual(try JSONParser.parse(#""\uD83D\uDE00""#), .string("😀"))
        XCTAssertEqual(try JSONParser.parse(#""\ud834\udd1e""#), .string("\u{1D11E}"))
        XCTAssertEqual(try JSONParser.parse(#""\uDBFF\uDFFF""#), .string("\u{10FFFF}"))
        XCTAssertEqual(try JSONParser.parse(#""a\u0000b""#), .string("a\u{0}b"))
        XCTAssertEqual(try JSONParser.parse(#""\u0041\u0062""#), .string("Ab"))
        XCTAssertEqual(try JSONParser.parse(#""\"\\\/\b\f\n\r\t""#), .string("\"\\/\u{8}\u{C}\n\r\t"))
        XCTAssertEqual(try JSONParser.parse(#""pre \n mid é \t post😀""#), .string("pre \n mid é \t post😀"))
        XCTAssertEqual(try JSONParser.parse(#"{"\u006b":1}"#).objectValue?.keys, ["k"])
    }

    func testRawUTF8() throws {
        let text = "\"aé€😀\u{10FFFF}\u{7F}\""
        XCTAssertEqual(try JSONParser.parse(Array(text.utf8)), .string("aé€😀\u{10FFFF}\u{7F}"))
        // Boundary scalars of every UTF-8 length.
        for scalar in ["\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}"] {
            XCTAssertEqual(try JSONParser.parse(Array("\"\(scalar)\"".utf8)), .string(scalar))
        }
    }

    // MARK: - Rejections

    func testRejectsEmptyInput() {
        assertRejects("", offset: 0, message: "empty input")
        assertRejects(" \n\t\r", offset: 4, message: "empty input")
    }

    func testRejectsByteOrderMark() {
        assertRejects([0xEF, 0xBB, 0xBF] + Array("{}".utf8), offset: 0,
                      message: "a UTF-8 byte order mark is not allowed at the start of JSON text")
        assertRejects("\u{FEFF}{}", offset: 0, message: "a UTF-8 byte order mark is not allowed at the start of JSON text")
        do {
            _ = try JSONParser.parse([0xEF, 0xBB, 0xBF, 0x31])
        } catch {
            XCTAssertTrue(error.message.contains("byte order mark"))
        }
    }

    func testRejectsTrailingCommas() {
        assertRejects("[1,]", offset: 2, message: "trailing comma is not allowed")
        assertRejects(#"{"a":1,}"#, offset: 6, message: "trailing comma is not allowed")
        assertRejects("[1 , \n]", offset: 3, message: "trailing comma is not allowed")
        assertRejects("[,]", offset: 1, message: "unexpected character ',', expected a JSON value")
        assertRejects("[1,,2]", offset: 3, message: "unexpected character ',', expected a JSON value")
        assertRejects("{,}", offset: 1, message: "expected '\"' to begin object key, found character ','")
    }

    func testRejectsComments() {
        assertRejects("/* c */ 1", offset: 0, message: "comments are not allowed")
        assertRejects("[1, // c\n2]", offset: 4, message: "comments are not allowed")
        assertRejects("[1]// c", offset: 3, message: "unexpected character '/' after JSON value")
        assertRejects("[1 /* c */]", offset: 3, message: "expected ',' or ']' after array element, found character '/'")
    }

    func testRejectsNonFiniteNumbers() {
        assertRejects("NaN", offset: 0, message: "unexpected character 'N', expected a JSON value")
        assertRejects("Infinity", offset: 0, message: "unexpected character 'I', expected a JSON value")
        assertRejects("-Infinity", offset: 1, message: "expected a digit after '-'")
        assertRejects("[nan]", offset: 1, message: "invalid literal, expected 'null'")
    }

    func testRejectsBadNumbers() {
        assertRejects("01", offset: 0, message: "leading zeros are not allowed in numbers")
        assertRejects("-01", offset: 1, message: "leading zeros are not allowed in numbers")
        assertRejects("[00]", offset: 1, message: "leading zeros are not allowed in numbers")
        assertRejects("+1", offset: 0, message: "numbers must not start with '+'")
        assertRejects("-", offset: 1, message: "expected a digit after '-'")
        assertRejects("- 1", offset: 1, message: "expected a digit after '-'")
        assertRejects("[-]", offset: 2, message: "expected a digit after '-'")
        assertRejects("1.", offset: 2, message: "expected a digit after the decimal point")
        assertRejects("1.e5", offset: 2, message: "expected a digit after the decimal point")
        assertRejects(".5", offset: 0, message: "numbers must start with a digit")
        assertRejects("1e", offset: 2, message: "expected a digit in the exponent")
        assertRejects("1E+", offset: 3, message: "expected a digit in the exponent")
        assertRejects("[1e-x]", offset: 4, message: "expected a digit in the exponent")
        assertRejects("1.5.3", offset: 3, message: "unexpected character '.' after JSON value")
        assertRejects("0x1F", offset: 1, message: "unexpected character 'x' after JSON value")
        assertRejects("[1,2 3]", offset: 5, message: "expected ',' or ']' after array element, found character '3'")
    }

    func testRejectsBadLiterals() {
        assertRejects("tru", offset: 0, message: "invalid literal, expected 'true'")
        assertRejects("True", offset: 0, message: "unexpected character 'T', expected a JSON value")
        assertRejects("[fals]", offset: 1, message: "invalid literal, expected 'false'")
        assertRejects("nul", offset: 0, message: "invalid literal, expected 'null'")
        assertRejects("nulll", offset: 4, message: "unexpected character 'l' after JSON value")
        assertRejects("undefined", offset: 0, message: "unexpected character 'u', expected a JSON value")
        assertRejects("'a'", offset: 0, message: "unexpected character ''', expected a JSON value")
    }

    func testRejectsMultipleOrTrailingValues() {
        assertRejects("1 2", offset: 2, message: "unexpected character '2' after JSON value")
        assertRejects("{}{}", offset: 2, message: "unexpected character '{' after JSON value")
        assertRejects("[]]", offset: 2, message: "unexpected character ']' after JSON value")
        assertRejects("null\u{0}", offset: 4, message: "unexpected byte 0x00 after JSON value")
    }

    func testRejectsNonJSONWhitespace() {
        assertRejects("\u{0B}1", offset: 0, message: "unexpected byte 0x0B, expected a JSON value")
        assertRejects("\u{0C}1", offset: 0, message: "unexpected byte 0x0C, expected a JSON value")
        assertRejects("[\u{A0}1]", offset: 1, message: "unexpected byte 0xC2, expected a JSON value")
        assertRejects("1\u{2028}", offset: 1, message: "unexpected byte 0xE2 after JSON value")
    }

    func testRejectsStructuralErrors() {
        assertRejects(#"{"a" 1}"#, offset: 5, message: "expected ':' after object key")
        assertRejects(#"{"a"}"#, offset: 4, message: "expected ':' after object key")
        assertRejects(#"{"a":1 "b":2}"#, offset: 7, message: "expected ',' or '}' after object member, found character '\"'")
        assertRejects(#"{"a":1]"#, offset: 6, message: "expected ',' or '}' after object member, found character ']'")
        assertRejects("[1}", offset: 2, message: "expected ',' or ']' after array element, found character '}'")
        assertRejects("{1:2}", offset: 1, message: "expected '\"' to begin object key, found character '1'")
        assertRejects("{a:1}", offset: 1, message: "expected '\"' to begin object key, found character 'a'")
        assertRejects(#"{"a":}"#, offset: 5, message: "unexpected character '}', expected a JSON value")
        assertRejects("]", offset: 0, message: "unexpected character ']', expected a JSON value")
        assertRejects(":", offset: 0, message: "unexpected character ':', expected a JSON value")
    }

    func testRejectsTruncatedInput() {
        assertRejects("[", offset: 1, message: "unexpected end of input, expected a JSON value")
        assertRejects("[1", offset: 2, message: "unexpected end of input, expected ',' or ']' after array element")
        assertRejects("[1,", offset: 3, message: "unexpected end of input, expected a JSON value")
        assertRejects("{", offset: 1, message: "unexpected end of input, expected object key")
        assertRejects(#"{"a""#, offset: 4, message: "unexpected end of input, expected ':' after object key")
        assertRejects(#"{"a":"#, offset: 5, message: "unexpected end of input, expected a JSON value")
        assertRejects(#"{"a":1"#, offset: 6, message: "unexpected end of input, expected ',' or '}' after object member")
        assertRejects(#"{"a":1,"#, offset: 7, message: "unexpected end of input, expected object key")
        assertRejects(#""abc"#, offset: 0, message: "unterminated string")
        assertRejects(#"["a\"]"#, offset: 1, message: "unterminated string")
        assertRejects(#""é"#, offset: 0, message: "unterminated string")
        assertRejects(#""\"#, offset: 1, message: "unexpected end of input in escape sequence")

        // Every strict prefix of a valid document is invalid, and must be rejected cleanly.
        let doc = Array(#"{"resourceType":"Observation","valueQuantity":{"value":1.10,"unit":"m\u00b2"},"x":[true,false,null,-1e-3,"😀"]}"#.utf8)
        XCTAssertNoThrow(try JSONParser.parse(doc))
        for length in 0..<doc.count {
            XCTAssertThrowsError(try JSONParser.parse(doc[0..<length]), "prefix of length \(length)")
        }
    }

    func testRejectsRawControlCharactersInStrings() {
        assertRejects("\"a\nb\"", offset: 2, message: "unescaped control character 0x0A in string")
        assertRejects("\"\t\"", offset: 1, message: "unescaped control character 0x09 in string")
        assertRejects("[\"ab\u{0}\"]", offset: 4, message: "unescaped control character 0x00 in string")
        assertRejects("\"é\u{1F}\"", offset: 3, message: "unescaped control character 0x1F in string")
        assertRejects("\"\\n\r\"", offset: 3, message: "unescaped control character 0x0D in string")
        for byte in UInt8(0)..<0x20 {
            assertRejects([0x22, byte, 0x22], offset: 1, message: "unescaped control character \(hex(byte)) in string")
        }
        // DEL (0x7F) is not a control character for JSON purposes.
        XCTAssertEqual(try JSONParser.parse([0x22, 0x7F, 0x22]), .string("\u{7F}"))
    }

    func testRejectsBadEscapes() {
        assertRejects(#""\x""#, offset: 1, message: #"invalid escape sequence '\x' in string"#)
        assertRejects(#""ab\'""#, offset: 3, message: #"invalid escape sequence '\'' in string"#)
        assertRejects(#""\U0041""#, offset: 1, message: #"invalid escape sequence '\U' in string"#)
        assertRejects(#""\u12""#, offset: 1, message: #"invalid \u escape: expected four hexadecimal digits"#)
        assertRejects(#""\u12G4""#, offset: 1, message: #"invalid \u escape: expected four hexadecimal digits"#)
        assertRejects(#""\u"#, offset: 1, message: #"invalid \u escape: expected four hexadecimal digits"#)
        assertRejects("\"\\\u{1}\"", offset: 1, message: #"invalid escape sequence '\0x01' in string"#)
    }

    func testRejectsUnpairedSurrogateEscapes() {
        assertRejects(#""\uD800""#, offset: 1, message: #"unpaired surrogate \uD800 in string"#)
        assertRejects(#""a\ud83d""#, offset: 2, message: #"unpaired surrogate \uD83D in string"#)
        assertRejects(#""\uDC00""#, offset: 1, message: #"unpaired surrogate \uDC00 in string"#)
        assertRejects(#""\uDFFF\uD800""#, offset: 1, message: #"unpaired surrogate \uDFFF in string"#)
        assertRejects(#""\uD800\u0041""#, offset: 1, message: #"unpaired surrogate \uD800 in string"#)
        assertRejects(#""\uD800\uD800""#, offset: 1, message: #"unpaired surrogate \uD800 in string"#)
        assertRejects(#""\uD800x""#, offset: 1, message: #"unpaired surrogate \uD800 in string"#)
        assertRejects(#""\uD800\n""#, offset: 1, message: #"unpaired surrogate \uD800 in string"#)
        assertRejects(#""\uD800\uDC0""#, offset: 7, message: #"invalid \u escape: expected four hexadecimal digits"#)
        assertRejects(#""\uD83D\uDE00\uDE00""#, offset: 13, message: #"unpaired surrogate \uDE00 in string"#)
    }

    func testRejectsInvalidUTF8() {
        let message = "invalid UTF-8 byte sequence in string"
        let cases: [[UInt8]] = [
            [0x80],                    // lone continuation byte
            [0xBF],
            [0xC0, 0xAF],              // overlong '/'
            [0xC1, 0xBF],              // overlong
            [0xC3],                    // truncated 2-byte sequence
            [0xC3, 0x41],              // bad continuation
            [0xE0, 0x80, 0xAF],        // overlong 3-byte
            [0xE0, 0x9F, 0xBF],        // overlong 3-byte (U+07FF)
            [0xED, 0xA0, 0x80],        // UTF-8 encoded surrogate U+D800
            [0xED, 0xBF, 0xBF],        // UTF-8 encoded surrogate U+DFFF
            [0xE2, 0x82],              // truncated 3-byte
            [0xF0, 0x80, 0x80, 0xAF],  // overlong 4-byte
            [0xF0, 0x8F, 0xBF, 0xBF],  // overlong 4-byte (U+FFFF)
            [0xF4, 0x90, 0x80, 0x80],  // U+110000
            [0xF5, 0x80, 0x80, 0x80],  // > U+10FFFF lead
            [0xF8, 0x88, 0x80, 0x80, 0x80],
            [0xFE], [0xFF],
            [0xF0, 0x9F, 0x98],        // truncated 4-byte
        ]
        for bad in cases {
            assertRejects([0x22] + bad + [0x22], offset: 1, message: message)
            assertRejects(Array(#"{"k":"ok é "#.utf8) + bad + [0x22, 0x7D], offset: 12, message: message)
            assertRejects(Array(#"{"a\n"#.utf8) + bad + Array(#"":1}"#.utf8), offset: 5, message: message)
        }
        // Outside of strings any non-ASCII byte is simply unexpected.
        assertRejects([0x5B, 0xC3, 0xA9, 0x5D], offset: 1, message: "unexpected byte 0xC3, expected a JSON value")
    }

    func testRejectsDuplicateKeys() {
        assertRejects(#"{"a":1,"a":2}"#, offset: 7, message: #"duplicate key "a""#)
        assertRejects(#"{"a":1,"b":{"a":1,"b":2},"b":3}"#, offset: 25, message: #"duplicate key "b""#)
        assertRejects(#"{"x\n":1,"x\u000a":2}"#, offset: 9, message: #"duplicate key "x\n""#)
        assertRejects(#"{"é":1,"\u00e9":2}"#, offset: 8, message: #"duplicate key "é""#)
        // Duplicates in a large object (hashed lookup path).
        let members = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let text = "{\(members),\"k17\":0}"
        assertRejects(text, offset: members.utf8.count + 2, message: #"duplicate key "k17""#)
        // Same key in sibling objects is fine.
        XCTAssertNoThrow(try JSONParser.parse(#"[{"a":1},{"a":2}]"#))
    }

    func testNestingDepthLimit() throws {
        XCTAssertEqual(JSONParser.maximumDepth, 256)
        let depth = JSONParser.maximumDepth
        let ok = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        XCTAssertEqual(try JSONParser.parse(ok).serializedString, ok)

        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        XCTAssertEqual(try JSONParser.parse(objects).serializedString, objects)

        let message = "nesting depth exceeds the maximum of 256"
        let tooDeep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        assertRejects(tooDeep, offset: depth, message: message)
        let tooDeepObjects = String(repeating: #"{"a":"#, count: depth + 1) + "1" + String(repeating: "}", count: depth + 1)
        assertRejects(tooDeepObjects, offset: depth * 5, message: message)
    }

    func testHugeNestingIsRejectedWithoutCrashing() {
        assertRejects([UInt8](repeating: UInt8(ascii: "["), count: 100_000), offset: 256,
                      message: "nesting depth exceeds the maximum of 256")
        assertRejects(String(repeating: #"{"a":["#, count: 100_000), offset: 128 * 6,
                      message: "nesting depth exceeds the maximum of 256")
    }

    func testErrorDescription() {
        let error = JSONSyntaxError(offset: 17, message: "expected ':' after object key")
        XCTAssertEqual(error.description, "invalid JSON at byte 17: expected ':' after object key")
        XCTAssertEqual("\(error)", "invalid JSON at byte 17: expected ':' after object key")
    }

    // MARK: - Serialization

    func testSerializationEscapesControlCharacters() {
        var expected = "\""
        var raw = ""
        for byte in UInt8(0)..<0x20 {
            raw.unicodeScalars.append(Unicode.Scalar(byte))
            switch byte {
            case 0x08: expected += #"\b"#
            case 0x09: expected += #"\t"#
            case 0x0A: expected += #"\n"#
            case 0x0C: expected += #"\f"#
            case 0x0D: expected += #"\r"#
            default: expected += "\\u00" + hex(byte).dropFirst(2).lowercased()
            }
        }
        expected += "\""
        XCTAssertEqual(JSONValue.string(raw).serializedString, expected)
        XCTAssertTrue(expected.contains(#"\u001f"#) && expected.contains(#"\u000b"#) && expected.contains(#"\u0000"#))
        // And it parses back to the same string.
        XCTAssertEqual(try JSONParser.parse(expected), .string(raw))
    }

    func testSerializationEscapesMinimally() {
        XCTAssertEqual(JSONValue.string(#"a"b\c/d"#).serializedString, #""a\"b\\c/d""#)
        XCTAssertEqual(JSONValue.string("é€😀\u{7F}\u{2028}<>&'").serializedString, "\"é€😀\u{7F}\u{2028}<>&'\"")
        XCTAssertEqual(JSONValue.string("").serializedString, #""""#)
        XCTAssertEqual(JSONValue.string("\n").serializedString, #""\n""#)
        XCTAssertEqual(JSONValue.object(["k\"\n": "v"]).serializedString, #"{"k\"\n":"v"}"#)
    }

    func testSerializationOfBuiltValues() {
        var patient = JSONObject()
        patient["resourceType"] = "Patient"
        patient["id"] = "example"
        patient["birthDate"] = "1974-12-25"
        patient["multipleBirthInteger"] = .integer(3)
        patient["weight"] = .number("72.50")
        patient["active"] = true
        patient["link"] = []
        patient["contact"] = .object(JSONObject())
        patient["deceased"] = .null
        patient.insert(["versionId": "2"], forKey: "meta", at: 2)
        XCTAssertEqual(JSONValue.object(patient).serializedString,
                       #"{"resourceType":"Patient","id":"example","meta":{"versionId":"2"},"birthDate":"1974-12-25","multipleBirthInteger":3,"weight":72.50,"active":true,"link":[],"contact":{},"deceased":null}"#)
    }

    // MARK: - Randomized round trip and robustness

    func testRandomValuesRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5EED)
        for _ in 0..<300 {
            let value = randomValue(&rng, depth: 0)
            let bytes = value.serialized()
            let reparsed = try JSONParser.parse(bytes)
            XCTAssertEqual(reparsed, value)
            XCTAssertEqual(reparsed.serialized(), bytes)
        }
    }

    func testRandomMutationsNeverCrash() throws {
        let seedDoc = Array(#"{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:1","resource":{"id":"a\u00e9\ud83d\ude00","v":[1.10,-0,1e5,true,false,null,"x\ny"]}}],"total":2}"#.utf8)
        XCTAssertNoThrow(try JSONParser.parse(seedDoc))
        var rng = SplitMix64(seed: 42)
        let interesting: [UInt8] = Array(#"{}[]",:\/u0123456789+-.eEtfn "#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        for _ in 0..<3000 {
            var doc = seedDoc
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let position = Int(rng.next() % UInt64(doc.count))
                let byte = interesting[Int(rng.next() % UInt64(interesting.count))]
                switch rng.next() % 3 {
                case 0: doc[position] = byte
                case 1: doc.insert(byte, at: position)
                default: doc.remove(at: position)
                }
                if doc.isEmpty { doc = [0x20] }
            }
            do {
                let value = try JSONParser.parse(doc)
                // Whatever is accepted must survive a serialize/parse round trip.
                XCTAssertEqual(try JSONParser.parse(value.serialized()), value)
            } catch {
                XCTAssertTrue((0...doc.count).contains(error.offset), "offset \(error.offset) out of range")
                XCTAssertFalse(error.message.isEmpty)
            }
        }
    }

    // MARK: - Random generation

    private struct SplitMix64 {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func randomString(_ rng: inout SplitMix64) -> String {
        let pool: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}",
                                      "é", "€", "😀", "\u{10FFFF}", "\u{FEFF}", "\u{2028}"]
        var s = String.UnicodeScalarView()
        for _ in 0..<Int(rng.next() % 12) {
            s.append(pool[Int(rng.next() % UInt64(pool.count))])
        }
        return String(s)
    }

    private func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        let numbers = ["0", "-0", "1.10", "1e5", "1E-7", "0.0", "-12.500", "3", "123456789012345678901234567890"]
        let pick = depth > 4 ? rng.next() % 4 : rng.next() % 6
        switch pick {
        case 0: return rng.next() % 2 == 0 ? .null : .bool(rng.next() % 2 == 0)
        case 1: return .number(numbers[Int(rng.next() % UInt64(numbers.count))])
        case 2, 3: return .string(randomString(&rng))
        case 4: return .array((0..<Int(rng.next() % 5)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var object = JSONObject()
            for _ in 0..<Int(rng.next() % 25) {
                object[randomString(&rng)] = randomValue(&rng, depth: depth + 1)
            }
            return .object(object)
        }
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }
}
