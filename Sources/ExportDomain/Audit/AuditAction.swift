/// The kinds of audited event, with the codes they carry as a FHIR `AuditEvent` (IHE Basic
/// Audit Log Patterns: DICOM event types for export and authentication, `rest` with the
/// RESTful interaction for REST calls). `rawValue` is this server's own subtype code, what
/// `type=` and `atrctl audit` show.
public enum AuditAction: String, Sendable, CaseIterable {
    case exportKickoff = "export-kickoff"
    case exportComplete = "export-complete"
    case exportFailed = "export-failed"
    case exportCancel = "export-cancel"
    /// A status poll; audited only when refused.
    case exportStatus = "export-status"
    case fileDownload = "file-download"
    case read
    case history
    case search
    /// A REST create, update or delete, or a Bundle; audited only when refused.
    case write
    /// `$member-add`, `$member-remove`, `$confirm-attribution-list`: always audited.
    case listChange = "list-change"
    case auditQuery = "audit-query"
    case token

    public static let subtypeSystem = "urn:atr-export:audit-action"
    static let dicom = "http://dicom.nema.org/resources/ontology/DCM"
    static let restfulInteraction = "http://hl7.org/fhir/restful-interaction"

    public struct Coding: Sendable, Equatable {
        public var system: String
        public var code: String
        public var display: String
    }

    /// `AuditEvent.type`.
    public var type: Coding {
        switch self {
        case .exportKickoff, .exportComplete, .exportFailed, .exportCancel, .fileDownload:
            Coding(system: Self.dicom, code: "110106", display: "Export")
        case .token:
            Coding(system: Self.dicom, code: "110114", display: "User Authentication")
        case .exportStatus, .read, .history, .search, .write, .listChange, .auditQuery:
            Coding(system: "http://terminology.hl7.org/CodeSystem/audit-event-type", code: "rest", display: "Restful Operation")
        }
    }

    /// `AuditEvent.subtype`: the standard one where there is one, then this server's own code.
    public var subtypes: [Coding] {
        var codings: [Coding] = []
        switch self {
        case .read: codings.append(Coding(system: Self.restfulInteraction, code: "read", display: "read"))
        case .history: codings.append(Coding(system: Self.restfulInteraction, code: "history-instance", display: "history-instance"))
        case .search, .auditQuery: codings.append(Coding(system: Self.restfulInteraction, code: "search-type", display: "search-type"))
        case .exportKickoff, .exportStatus, .exportCancel, .listChange:
            codings.append(Coding(system: Self.restfulInteraction, code: "operation", display: "operation"))
        case .token: codings.append(Coding(system: Self.dicom, code: "110122", display: "Login"))
        case .write, .exportComplete, .exportFailed, .fileDownload: break
        }
        codings.append(Coding(system: Self.subtypeSystem, code: rawValue, display: rawValue))
        return codings
    }

    /// `AuditEvent.action` (http://hl7.org/fhir/audit-event-action).
    public var actionCode: String {
        switch self {
        case .read, .history, .fileDownload: "R"
        case .exportCancel: "D"
        case .write, .listChange: "U"
        case .exportKickoff, .exportComplete, .exportFailed, .exportStatus, .search, .auditQuery, .token: "E"
        }
    }

    /// The actions a `type=` search value names: this server's code, or an `AuditEvent.type`
    /// code (`110106`, `110114`, `rest`), optionally as `system|code`.
    public static func matching(_ value: String) -> [AuditAction] {
        let code = value.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).last.map(String.init) ?? value
        if let action = AuditAction(rawValue: code) { return [action] }
        return allCases.filter { $0.type.code == code }
    }
}
