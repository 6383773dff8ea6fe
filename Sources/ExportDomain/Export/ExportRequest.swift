/// The two kick-off operations that run the ATR export pipeline.
public enum ExportOperation: String, Sendable, Equatable, Hashable, CaseIterable {
    /// `Group/{id}/$davinci-data-export` (Da Vinci ATR): `_type`, when given, must include
    /// Group, Patient and Coverage; omitted means exactly those three.
    case davinciDataExport = "$davinci-data-export"
    /// `Group/{id}/$export`, the alias for generic Bulk Data clients: no minimum `_type`;
    /// omitted means every ATR type (narrowed later by the token's scopes).
    case export = "$export"
}

extension ElementSelector: CustomStringConvertible {
    /// `Type.element`, or `element` for a selector that applies to every type.
    public var description: String {
        type.map { "\($0).\(element)" } ?? element
    }

    /// Whether `name` matches `[a-z][A-Za-z0-9]*` (a root element name as `_elements` takes it).
    public static func isValidElementName<S: StringProtocol>(_ name: S) -> Bool {
        var first = true
        for byte in name.utf8 {
            let lower = byte >= 0x61 && byte <= 0x7A
            let upper = byte >= 0x41 && byte <= 0x5A
            let digit = byte >= 0x30 && byte <= 0x39
            if first {
                guard lower else { return false }
                first = false
            } else {
                guard lower || upper || digit else { return false }
            }
        }
        return !first
    }

    /// Parses one `_elements` item: `elem` or `Type.elem`, where `Type` is a FHIR R4 resource
    /// type and `elem` matches `[a-z][A-Za-z0-9]*`. Nil when the item is not of that form.
    public init?<S: StringProtocol>(parsing item: S) {
        let parts = item.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            guard Self.isValidElementName(parts[0]) else { return nil }
            self.init(type: nil, element: String(parts[0]))
        case 2:
            guard ResourceType(parts[0]).isKnown, Self.isValidElementName(parts[1]) else { return nil }
            self.init(type: ResourceType(parts[0]), element: String(parts[1]))
        default:
            return nil
        }
    }
}

/// A validated export kick-off: what `ExportKickoff.parse` accepted, stored with the task
/// (`toJSON()`/`init(json:)`) and read by the scheduler.
public struct ExportRequest: Sendable, Equatable {
    public static let atrExportType = "hl7.fhir.us.davinci-atr"
    /// The canonical URL form of `atrExportType`, accepted as the same export type.
    public static let atrExportTypeURL = "http://hl7.org/fhir/us/davinci-atr"
    /// The only output format (`_outputFormat` normalised).
    public static let ndjsonFormat = "application/fhir+ndjson"

    public var groupId: String
    public var operation: ExportOperation
    /// Normalised to `hl7.fhir.us.davinci-atr`.
    public var exportType: String
    /// Resolved, de-duplicated, in `ATRTypes.all` order.
    public var types: [ResourceType]
    /// False when `_type` was omitted.
    public var typesRequested: Bool
    public var since: FHIRInstant?
    public var until: FHIRInstant?
    /// The `patient` reference strings as given, in order, de-duplicated.
    public var patients: [String]
    /// Empty: no `_elements`.
    public var elements: [ElementSelector]
    /// Normalised to `application/fhir+ndjson`.
    public var outputFormat: String
    /// The full kick-off URL as given to `ExportKickoff.parse` (the manifest's `request`).
    public var requestURL: String
    /// Lenient mode: one human-readable line per ignored parameter.
    public var ignored: [String]

    /// The same request, writing `types` (what authorisation allows; see `ExportKickoff`).
    public func exporting(_ types: [ResourceType]) -> ExportRequest {
        var request = self
        request.types = types
        return request
    }

    public init(
        groupId: String,
        operation: ExportOperation = .davinciDataExport,
        exportType: String = ExportRequest.atrExportType,
        types: [ResourceType] = ATRTypes.required,
        typesRequested: Bool = false,
        since: FHIRInstant? = nil,
        until: FHIRInstant? = nil,
        patients: [String] = [],
        elements: [ElementSelector] = [],
        outputFormat: String = ExportRequest.ndjsonFormat,
        requestURL: String = "",
        ignored: [String] = []
    ) {
        self.groupId = groupId
        self.operation = operation
        self.exportType = exportType
        self.types = types
        self.typesRequested = typesRequested
        self.since = since
        self.until = until
        self.patients = patients
        self.elements = elements
        self.outputFormat = outputFormat
        self.requestURL = requestURL
        self.ignored = ignored
    }

    /// The form stored in the task row. `since`/`until` are omitted when nil; `elements` are
    /// strings (`Type.elem` or `elem`).
    public func toJSON() -> JSONValue {
        var object = JSONObject(minimumCapacity: 12)
        object["groupId"] = .string(groupId)
        object["operation"] = .string(operation.rawValue)
        object["exportType"] = .string(exportType)
        object["types"] = .array(types.map { .string($0.rawValue) })
        object["typesRequested"] = .bool(typesRequested)
        if let since { object["since"] = .string(since.description) }
        if let until { object["until"] = .string(until.description) }
        object["patients"] = .array(patients.map { .string($0) })
        object["elements"] = .array(elements.map { .string($0.description) })
        object["outputFormat"] = .string(outputFormat)
        object["requestURL"] = .string(requestURL)
        object["ignored"] = .array(ignored.map { .string($0) })
        return .object(object)
    }

    /// Reads back what `toJSON()` wrote. Throws a 500 `FHIRError` (code `exception`) when the
    /// stored JSON is malformed: that is our bug or a damaged database, never client input.
    public init(json: JSONValue) throws {
        guard let object = json.objectValue else { throw Self.malformed("not a JSON object") }
        func string(_ key: String) throws -> String {
            guard let value = object[key]?.stringValue else { throw Self.malformed("'\(key)' must be a string") }
            return value
        }
        func strings(_ key: String) throws -> [String] {
            guard let array = object[key]?.arrayValue else { throw Self.malformed("'\(key)' must be an array") }
            return try array.map {
                guard let text = $0.stringValue else { throw Self.malformed("'\(key)' must hold strings") }
                return text
            }
        }
        func instant(_ key: String) throws -> FHIRInstant? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let text = value.stringValue, let instant = FHIRInstant.parseInstant(text) else {
                throw Self.malformed("'\(key)' must be a FHIR instant")
            }
            return instant
        }
        let operationText = try string("operation")
        guard let operation = ExportOperation(rawValue: operationText) else {
            throw Self.malformed("unknown operation '\(operationText)'")
        }
        guard let typesRequested = object["typesRequested"]?.boolValue else {
            throw Self.malformed("'typesRequested' must be a boolean")
        }
        let types = try strings("types").map(ResourceType.init(rawValue:))
        for type in types where !ATRTypes.all.contains(type) {
            throw Self.malformed("'\(type)' is not an ATR type")
        }
        let elements = try strings("elements").map { text in
            guard let selector = ElementSelector(parsing: text) else { throw Self.malformed("bad element selector '\(text)'") }
            return selector
        }
        self.init(
            groupId: try string("groupId"),
            operation: operation,
            exportType: try string("exportType"),
            types: types,
            typesRequested: typesRequested,
            since: try instant("since"),
            until: try instant("until"),
            patients: try strings("patients"),
            elements: elements,
            outputFormat: try string("outputFormat"),
            requestURL: try string("requestURL"),
            ignored: try strings("ignored")
        )
    }

    private static func malformed(_ detail: String) -> FHIRError {
        FHIRError(status: 500, code: .exception, "The stored export request is malformed: \(detail)")
    }
}

/// One `_elements` entry: `element` for every type (`type` nil) or `Type.element`.
public struct ElementSelector: Sendable, Equatable, Hashable {
    public var type: ResourceType?
    public var element: String

    public init(type: ResourceType?, element: String) {
        self.type = type
        self.element = element
    }
}
