/// The JSON kind and range of every element the R4 model knows: a resource stored here must be
/// one its readers can parse. FHIR's `integer` is 32-bit and a `decimal` must be a finite
/// number, so `1e400` or a 30-digit integer — valid JSON — is refused instead of stored for an
/// export to hand to a client that chokes on it. Elements the model does not know, and
/// primitive extensions (`_name`), are not judged here.
public enum PrimitiveValues {
    /// `ignoring`: top-level elements not judged (a create's body id, which is replaced).
    public static func check(_ resource: JSONObject, type: String, ignoring: Set<String> = []) throws(FHIRError) {
        try checkObject(resource, path: type, ignoring: ignoring)
    }

    static let stringTypes: Set<String> = [
        "string", "code", "id", "uri", "url", "canonical", "oid", "uuid", "markdown", "base64Binary",
        "instant", "date", "dateTime", "time", "xhtml", "System.String", "System.Date", "System.DateTime", "System.Time",
    ]
    static let integerRanges: [String: ClosedRange<Int64>] = [
        "integer": -2_147_483_648...2_147_483_647, "System.Integer": -2_147_483_648...2_147_483_647,
        "positiveInt": 1...2_147_483_647, "unsignedInt": 0...2_147_483_647,
    ]

    private static func checkObject(_ object: JSONObject, path: String, ignoring: Set<String> = []) throws(FHIRError) {
        for (key, value) in object where key != "resourceType" && !key.hasPrefix("_") && !ignoring.contains(key) {
            let elementPath = path + "." + key
            if let reused = R4Model.definedElsewhere(path: elementPath) {
                try checkBackbone(value, path: reused)
            } else if let type = R4Model.elementType(path: elementPath) {
                try checkValue(value, type: type, path: elementPath)
            } else {
                try checkBackbone(value, path: elementPath)
            }
        }
    }

    /// A BackboneElement (or an element the model does not know): its children are named under its own path.
    private static func checkBackbone(_ value: JSONValue, path: String) throws(FHIRError) {
        switch value {
        case .object(let object): try checkObject(object, path: path)
        case .array(let items): for item in items { try checkBackbone(item, path: path) }
        default: break
        }
    }

    private static func checkValue(_ value: JSONValue, type: String, path: String) throws(FHIRError) {
        if case .array(let items) = value {
            for item in items { try checkSingle(item, type: type, path: path) }
        } else {
            try checkSingle(value, type: type, path: path)
        }
    }

    private static func checkSingle(_ value: JSONValue, type: String, path: String) throws(FHIRError) {
        // A null keeps a repeating primitive aligned with its `_name` extensions.
        if case .null = value { return }
        if let range = integerRanges[type] {
            guard case .number(let text) = value, let number = Int64(text), range.contains(number) else {
                throw refused(path, value, "a FHIR \(type) (a whole number from \(range.lowerBound) to \(range.upperBound))")
            }
        } else if type == "decimal" || type == "System.Decimal" {
            guard case .number(let text) = value, let number = Double(text), number.isFinite else {
                throw refused(path, value, "a FHIR decimal (a number within the range of a 64-bit float)")
            }
        } else if type == "boolean" || type == "System.Boolean" {
            guard case .bool = value else { throw refused(path, value, "a JSON boolean") }
        } else if stringTypes.contains(type) {
            guard case .string = value else { throw refused(path, value, "a JSON string (FHIR \(type))") }
        } else if type == "Resource" || R4Model.isResourceType(type) {
            guard case .object(let object) = value, let contained = object["resourceType"]?.stringValue,
                  R4Model.isResourceType(contained) else {
                throw refused(path, value, "a resource (an object with a known resourceType)")
            }
            try checkObject(object, path: contained)
        } else {
            guard case .object(let object) = value else { throw refused(path, value, "a JSON object (FHIR \(type))") }
            try checkObject(object, path: type)
        }
    }

    private static func refused(_ path: String, _ value: JSONValue, _ expected: String) -> FHIRError {
        let shown: String
        switch value {
        case .number(let text): shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        case .string: shown = "a string"
        case .bool: shown = "a boolean"
        case .object: shown = "an object"
        case .array: shown = "an array"
        case .null: shown = "null"
        }
        return FHIRError.badRequest(.value, "\(path): \(shown) is not \(expected)")
    }
}
