/// Validates an export kick-off request (`Group/{id}/$davinci-data-export` or the `$export`
/// alias) into an `ExportRequest`, or throws the `FHIRError` that names what was wrong.
///
/// The only validator of a kick-off. Order of checks (the first failure wins): headers
/// (`Prefer`, `Accept`), then method, Group id, query encoding and body, then the parameters in
/// the order given, then the checks that need all of them (the `_type` minimum, `_since` ≤
/// `_until`). What the client may export (scopes, Group registration) is decided afterwards.
public enum ExportKickoff {
    /// Parameters of the Bulk Data / Da Vinci operations this server does not support: 400,
    /// or with `Prefer: handling=lenient` ignored and reported.
    public static let unsupportedParameters: Set<String> = [
        "_typeFilter", "includeAssociatedData", "organizeOutputBy", "allowPartialManifests",
    ]

    public static func parse(
        method: String, operation: ExportOperation, groupId: String,
        query: [(name: String, value: String)]?, accept: String?, prefer: String?,
        contentType: String?, body: [UInt8], now: FHIRInstant, requestURL: String,
        maxParameters: Int = defaultMaxParameters, maxPatients: Int = defaultMaxPatients
    ) throws -> ExportRequest {
        // 1. Headers.
        let preferHeader = PreferHeader(prefer)
        guard preferHeader.respondAsync else {
            throw FHIRError.badRequest(.required, "Prefer: respond-async is required to start an export"
                + (prefer.map { " (got Prefer: \(quoted($0)))" } ?? " (the Prefer header is missing)"))
        }
        try checkAccept(accept)
        let lenient = preferHeader.lenient

        // 2. Method, Group id, query encoding, body.
        guard method == "GET" || method == "POST" else {
            throw FHIRError(status: 405, code: .notSupported,
                            "Method \(quoted(method)) is not allowed for \(operation.rawValue): use GET or POST",
                            headers: [HTTPHeader("Allow", "GET, POST")])
        }
        try checkGroupId(groupId)
        guard let query else {
            throw FHIRError.badRequest(.invalid, "The query string is not validly percent-encoded")
        }
        let parameters: [Parameter]
        var ignored: [String] = []
        if method == "GET" {
            parameters = query.map { Parameter(name: $0.name, source: .query($0.value)) }
        } else {
            let entries = try bodyParameters(contentType: contentType, body: body)
            for item in query {
                let message = "\(quoted(item.name)) in the URL query string is not supported with POST"
                guard lenient else {
                    throw FHIRError.badRequest(.notSupported, message + "; send parameters in the Parameters body")
                }
                appendOnce(&ignored, "\(item.name) in the URL query string is not supported with POST and was ignored")
            }
            parameters = entries
        }

        // 3. Parameters, in order — a bounded number of them, each in constant time, so a body of
        // 100,000 entries is refused at once instead of parsed for a minute.
        guard parameters.count <= maxParameters else {
            throw tooMany("parameters", parameters.count, maxParameters)
        }
        var state = State(lenient: lenient, now: now, ignored: ignored, maxEntries: maxParameters, maxPatients: maxPatients)
        for parameter in parameters {
            try state.apply(parameter)
        }

        // 4. Checks over all parameters.
        let types = try state.resolveTypes(operation: operation)
        if let since = state.since, let until = state.until, since > until {
            throw FHIRError.badRequest(.value, "_since (\(since)) is later than _until (\(until))")
        }

        return ExportRequest(
            groupId: groupId,
            operation: operation,
            exportType: ExportRequest.atrExportType,
            types: types,
            typesRequested: state.typeNames != nil,
            since: state.since,
            until: state.until,
            patients: state.patients,
            elements: state.elements,
            outputFormat: ExportRequest.ndjsonFormat,
            requestURL: requestURL,
            ignored: state.ignored
        )
    }

    /// `BulkDataExport.MaxKickoffParameters`' default.
    public static let defaultMaxParameters = 1000
    /// `BulkDataExport.MaxPatients`' default.
    public static let defaultMaxPatients = 1000

    static func tooMany(_ what: String, _ count: Int, _ limit: Int) -> FHIRError {
        FHIRError(status: 413, code: .tooCostly,
                  "The kick-off has \(count) \(what); at most \(limit) are accepted (BulkDataExport.MaxKickoffParameters)")
    }

    // MARK: - Headers

    /// Media ranges that allow an `application/fhir+json` response.
    static let acceptableRanges: Set<String> = ["application/fhir+json", "application/json", "application/*", "*/*"]

    /// Whether an `Accept` header allows `application/fhir+json`: a comma list of media ranges,
    /// case-insensitive, parameters ignored except that `q=0` means "not acceptable".
    public static func acceptAllowsFHIRJSON(_ accept: String) -> Bool {
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";")
            guard let essence = parts.first?.trimmingCharacters(in: " \t").lowercased(),
                  acceptableRanges.contains(essence) else { continue }
            let refused = parts.dropFirst().contains { parameter in
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingCharacters(in: " \t").lowercased() == "q" else { return false }
                return Double(pair[1].trimmingCharacters(in: " \t")) == 0
            }
            if !refused { return true }
        }
        return false
    }

    static func checkAccept(_ accept: String?) throws {
        guard let accept, !accept.trimmingCharacters(in: " \t").isEmpty else {
            throw FHIRError.badRequest(.required, "The Accept header is required: use Accept: application/fhir+json")
        }
        guard acceptAllowsFHIRJSON(accept) else {
            throw FHIRError(status: 406, code: .notSupported,
                            "Accept: \(quoted(accept)) does not allow application/fhir+json, the only format of this operation's responses")
        }
    }

    static func checkGroupId(_ groupId: String) throws {
        guard ResourceID.isValid(groupId) else {
            throw FHIRError.badRequest(.value, "Invalid Group id \(quoted(groupId)) in the URL: an id must match [A-Za-z0-9\\-\\.]{1,64}")
        }
    }

    // MARK: - POST body

    /// One parameter as received: a query item (GET) or a `Parameters.parameter` entry (POST).
    struct Parameter {
        enum Source {
            case query(String)
            case body(JSONObject)
        }
        var name: String
        var source: Source
    }

    static func bodyParameters(contentType: String?, body: [UInt8]) throws -> [Parameter] {
        let isBlank = body.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        if isBlank { return [] }
        guard MediaType.isJSONResource(contentType) else {
            throw FHIRError(status: 415, code: .notSupported,
                            "Content-Type: \(contentType.map(quoted) ?? "(missing)") is not supported for the POST body: "
                                + "send a Parameters resource as application/fhir+json")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw FHIRError.badRequest(.structure, "The POST body is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else {
            throw FHIRError.badRequest(.invalid, "The POST body must be a FHIR Parameters resource (got a JSON value that is not an object)")
        }
        guard object["resourceType"]?.stringValue == "Parameters" else {
            let got = object["resourceType"].map { $0.stringValue.map(quoted) ?? $0.serializedString } ?? "none"
            throw FHIRError.badRequest(.invalid, "The POST body must be a FHIR Parameters resource (resourceType: \(got))")
        }
        guard let list = object["parameter"], !list.isNull else { return [] }
        guard let entries = list.arrayValue else {
            throw FHIRError.badRequest(.structure, "Parameters.parameter must be an array")
        }
        return try entries.enumerated().map { index, entry in
            guard let entryObject = entry.objectValue else {
                throw FHIRError.badRequest(.structure, "Parameters.parameter[\(index)] must be an object")
            }
            guard let name = entryObject["name"]?.stringValue else {
                throw FHIRError.badRequest(.structure, "Parameters.parameter[\(index)] has no name: every parameter needs a name string")
            }
            return Parameter(name: name, source: .body(entryObject))
        }
    }

    // MARK: - Parameter state

    struct State {
        var lenient: Bool
        var now: FHIRInstant
        var ignored: [String]
        /// The exportType text as first given.
        var exportType: String?
        /// The `_type` items in the order given (nil: `_type` omitted).
        var typeNames: [ResourceType]?
        /// Which of the synonyms `_type` and `resourceTypes` was given (nil: neither).
        var typeParameter: String?
        var since: FHIRInstant?
        var until: FHIRInstant?
        var patients: [String] = []
        private var patientSet = Set<String>()
        var elements: [ElementSelector] = []
        private var elementSet = Set<ElementSelector>()
        var outputFormat: String?
        let maxEntries: Int
        let maxPatients: Int

        init(lenient: Bool, now: FHIRInstant, ignored: [String], maxEntries: Int = ExportKickoff.defaultMaxParameters,
             maxPatients: Int = ExportKickoff.defaultMaxPatients) {
            self.lenient = lenient
            self.now = now
            self.ignored = ignored
            self.maxEntries = maxEntries
            self.maxPatients = maxPatients
        }

        mutating func apply(_ parameter: Parameter) throws {
            switch parameter.name {
            case "exportType":
                let text = try value(parameter, keys: ["valueCanonical", "valueUri", "valueString"])
                guard text == ExportRequest.atrExportType || text == ExportRequest.atrExportTypeURL else {
                    throw FHIRError.badRequest(.notSupported,
                        "exportType \(quoted(text)) is not supported: only \(ExportRequest.atrExportType) (\(ExportRequest.atrExportTypeURL)) is")
                }
                if let exportType, exportType != text {
                    throw FHIRError.badRequest(.invalid,
                        "exportType is given more than once with different values (\(quoted(exportType)) and \(quoted(text)))")
                }
                exportType = text

            case "_type", "resourceTypes":
                // `resourceTypes` is a synonym of `_type` (same syntax, same rules); both in one
                // request would leave unclear which list is meant, so that is refused.
                let parameterName = parameter.name
                if let typeParameter, typeParameter != parameterName {
                    throw FHIRError.badRequest(.invalid,
                        "_type and resourceTypes are synonyms: give the resource types in only one of them")
                }
                typeParameter = parameterName
                let text = try value(parameter, keys: ["valueString"])
                var names = typeNames ?? []
                for item in text.split(separator: ",") {
                    let name = ResourceType(item.trimmingCharacters(in: " \t"))
                    guard !name.rawValue.isEmpty else { continue }
                    guard name.isKnown else {
                        throw FHIRError.badRequest(.notSupported, "\(parameterName): \(quoted(name.rawValue)) is not a FHIR R4 resource type")
                    }
                    guard ATRTypes.all.contains(name) else {
                        throw FHIRError.badRequest(.notSupported,
                            "\(parameterName): \(name) is not exported by the ATR export (supported: \(ATRTypes.all.joined(separator: ", ")))")
                    }
                    names.append(name)
                }
                // `_type=` with no names at all counts as omitted.
                typeNames = names.isEmpty ? typeNames : names

            case "_since":
                try once(since, "_since")
                let value = try instant(parameter)
                guard value <= now else {
                    throw FHIRError.badRequest(.value, "_since is in the future: \(value) is later than the server time \(now)")
                }
                since = value

            case "_until":
                try once(until, "_until")
                until = try instant(parameter)

            case "patient":
                guard case .body(let entry) = parameter.source else {
                    throw FHIRError.badRequest(.notSupported, "the patient parameter is only supported with POST (in a Parameters body), not in a GET query")
                }
                guard let reference = entry["valueReference"]?["reference"], !reference.isNull else {
                    throw FHIRError.badRequest(.required, "patient must have valueReference.reference (e.g. \"Patient/123\")")
                }
                guard let text = reference.stringValue else {
                    throw FHIRError.badRequest(.structure, "patient valueReference.reference must be a string")
                }
                guard !text.isEmpty else {
                    throw FHIRError.badRequest(.required, "patient valueReference.reference must not be empty")
                }
                if patientSet.insert(text).inserted { patients.append(text) }
                guard patients.count <= maxPatients else {
                    throw FHIRError(status: 413, code: .tooCostly,
                                    "The kick-off names more than \(maxPatients) patients (BulkDataExport.MaxPatients); export the whole Group instead")
                }

            case "_elements":
                let text = try value(parameter, keys: ["valueString"])
                for item in text.split(separator: ",") {
                    let trimmed = item.trimmingCharacters(in: " \t")
                    guard !trimmed.isEmpty else { continue }
                    guard let selector = ElementSelector(parsing: trimmed) else {
                        throw FHIRError.badRequest(.value,
                            "_elements: \(quoted(trimmed)) is not a root element (elem or Type.elem, where Type is a FHIR R4 resource type and elem matches [a-z][A-Za-z0-9]*)")
                    }
                    if elementSet.insert(selector).inserted { elements.append(selector) }
                    guard elements.count <= maxEntries else { throw ExportKickoff.tooMany("_elements selectors", elements.count, maxEntries) }
                }

            case "_outputFormat":
                try once(outputFormat, "_outputFormat")
                let text = try value(parameter, keys: ["valueString"])
                var format = text.lowercased()
                // An unencoded '+' in a query string arrives as a space.
                if case .query = parameter.source { format = String(format.map { $0 == " " ? "+" : $0 }) }
                guard ["application/fhir+ndjson", "application/ndjson", "ndjson"].contains(format) else {
                    throw FHIRError.badRequest(.notSupported,
                        "_outputFormat \(quoted(text)) is not supported: use application/fhir+ndjson, application/ndjson or ndjson")
                }
                outputFormat = ExportRequest.ndjsonFormat

            default:
                let name = parameter.name
                let message = ExportKickoff.unsupportedParameters.contains(name)
                    ? "The parameter \(name) is not supported by this server"
                    : "Unknown parameter \(quoted(name)) is not supported by this operation"
                guard lenient else {
                    throw FHIRError.badRequest(.notSupported, message + " (send Prefer: handling=lenient to have it ignored)")
                }
                appendOnce(&ignored, "\(name) is not supported and was ignored")
            }
        }

        /// The types to export: `_type` resolved (de-duplicated, `ATRTypes.all` order, the ATR minimum
        /// enforced for `$davinci-data-export`), or the operation's default.
        func resolveTypes(operation: ExportOperation) throws -> [ResourceType] {
            guard let typeNames else {
                return operation == .davinciDataExport ? ATRTypes.required : ATRTypes.all
            }
            if operation == .davinciDataExport {
                let missing = ATRTypes.required.filter { !typeNames.contains($0) }
                guard missing.isEmpty else {
                    throw FHIRError.badRequest(.invalid,
                        "\(typeParameter ?? "_type") must include Group, Patient and Coverage for \(operation.rawValue); missing: \(missing.joined(separator: ", "))")
                }
            }
            return ATRTypes.all.filter { typeNames.contains($0) }
        }

        private func once<T>(_ existing: T?, _ name: String) throws {
            guard existing == nil else {
                throw FHIRError.badRequest(.invalid, "\(name) may be given only once")
            }
        }

        /// `_since`/`_until`: a FHIR instant with time zone (POST: valueInstant, or a
        /// valueDateTime/valueString holding an instant).
        private func instant(_ parameter: Parameter) throws -> FHIRInstant {
            let text = try value(parameter, keys: ["valueInstant", "valueDateTime", "valueString"])
            if let instant = FHIRInstant.parseInstant(text) { return instant }
            // An unencoded '+' in a query string (`…T00:00:00+02:00`) arrives as a space;
            // a space is never valid in an instant, so this reading is unambiguous.
            if case .query = parameter.source, text.contains(" "),
               let instant = FHIRInstant.parseInstant(String(text.map { $0 == " " ? "+" : $0 })) {
                return instant
            }
            throw FHIRError.badRequest(.value,
                "\(parameter.name): \(quoted(text)) is not a valid FHIR instant (YYYY-MM-DDThh:mm:ss[.sss] with Z or ±hh:mm; the time zone is required)")
        }

        /// The parameter's text: the query value, or the first of `keys` present in the entry.
        private func value(_ parameter: Parameter, keys: [String]) throws -> String {
            switch parameter.source {
            case .query(let text):
                return text
            case .body(let entry):
                for key in keys {
                    guard let value = entry[key] else { continue }
                    guard let text = value.stringValue else {
                        throw FHIRError.badRequest(.structure, "\(parameter.name): \(key) must be a string")
                    }
                    return text
                }
                let present = entry.keys.filter { $0.hasPrefix("value") }
                let expected = keys.joined(separator: " or ")
                if let other = present.first {
                    throw FHIRError.badRequest(.invalid, "\(parameter.name) must be given as \(expected), not \(other)")
                }
                throw FHIRError.badRequest(.required, "\(parameter.name) has no value: expected \(expected)")
            }
        }
    }
}

private func appendOnce(_ lines: inout [String], _ line: String) {
    if !lines.contains(line) { lines.append(line) }
}

/// A value for a diagnostic: in quotes, cut at 100 characters so a huge input is not echoed.
private func quoted(_ text: String) -> String {
    let limit = 100
    guard text.count > limit else { return "'\(text)'" }
    return "'\(text.prefix(limit))…'"
}
