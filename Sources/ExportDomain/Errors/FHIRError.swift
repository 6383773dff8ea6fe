/// An error a request can cause. It knows its HTTP status and how it reads as an
/// OperationOutcome, so handlers just `throw` and one place renders it.
public struct FHIRError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: IssueType
    public var diagnostics: String
    public var headers: [HTTPHeader]

    public init(status: Int, code: IssueType, _ diagnostics: String, headers: [HTTPHeader] = []) {
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.headers = headers
    }

    public var description: String { "\(status) \(code.rawValue): \(diagnostics)" }

    public static func badRequest(_ code: IssueType, _ diagnostics: String) -> FHIRError {
        FHIRError(status: 400, code: code, diagnostics)
    }

    public static func notFound(_ diagnostics: String) -> FHIRError {
        FHIRError(status: 404, code: .notFound, diagnostics)
    }

    public var operationOutcome: JSONValue {
        OperationOutcome.single(severity: status < 400 ? .information : .error, code: code, diagnostics: diagnostics)
    }
}

public struct HTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// FHIR R4 IssueType codes (http://hl7.org/fhir/issue-type) that this server uses.
public enum IssueType: String, Sendable {
    case invalid, structure, required, value, invariant
    case security, login, unknown, expired, forbidden, suppressed
    case processing, notSupported = "not-supported", duplicate, multipleMatches = "multiple-matches"
    case notFound = "not-found", deleted, tooLong = "too-long", codeInvalid = "code-invalid"
    case `extension`, tooCostly = "too-costly", businessRule = "business-rule", conflict
    case transient, lockError = "lock-error", noStore = "no-store", exception, timeout
    case incomplete, throttled, informational
}

public enum IssueSeverity: String, Sendable {
    case fatal, error, warning, information
}

public enum OperationOutcome {
    public static func single(severity: IssueSeverity, code: IssueType, diagnostics: String) -> JSONValue {
        make([issue(severity: severity, code: code, diagnostics: diagnostics)])
    }

    public static func issue(severity: IssueSeverity, code: IssueType, diagnostics: String) -> JSONValue {
        .object(JSONObject([
            ("severity", .string(severity.rawValue)),
            ("code", .string(code.rawValue)),
            ("diagnostics", .string(diagnostics)),
        ]))
    }

    public static func make(_ issues: [JSONValue]) -> JSONValue {
        .object(JSONObject([
            ("resourceType", .string("OperationOutcome")),
            ("issue", .array(issues)),
        ]))
    }
}
