/// One entry of the audit trail: a disclosure, or a refused attempt at one. Stored append-only
/// and served as a FHIR `AuditEvent` (`AuditEventResource`). Never holds a token, an assertion,
/// a signature or a secret; names a patient only when the access was to that patient.
public struct AuditRecord: Sendable, Equatable {
    /// Assigned when stored; increases with every record, so it orders the trail and pages it.
    public var id: Int64?
    public var recorded: FHIRInstant
    public var action: AuditAction
    public var outcome: AuditOutcome
    /// The client that acted (or on whose behalf the scheduler acted); nil when unknown (no
    /// valid token).
    public var clientId: String?
    /// The client's network address as nginx saw it; nil for the scheduler's own events.
    public var address: String?
    public var entities: [AuditEntity]
    /// Named facts: counts per type, the HTTP status and reason of a refusal, and the like.
    public var details: [AuditDetail]

    public init(id: Int64? = nil, recorded: FHIRInstant, action: AuditAction, outcome: AuditOutcome, clientId: String?,
                address: String?, entities: [AuditEntity] = [], details: [AuditDetail] = []) {
        self.id = id
        self.recorded = recorded
        self.action = action
        self.outcome = outcome
        self.clientId = clientId
        self.address = address
        self.entities = entities
        self.details = details
    }
}

/// What was acted on. `value` is what `entity=` searches match: `Group/{id}`, `Patient/{id}`
/// (any resource reference), a task id, or `{taskId}/{file name}`.
public struct AuditEntity: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case group, resource, task, file, query
    }

    public var kind: Kind
    public var value: String

    public init(_ kind: Kind, _ value: String) {
        self.kind = kind
        self.value = value
    }

    public static func group(_ id: String) -> AuditEntity { AuditEntity(.group, "Group/\(id)") }
    public static func resource(_ key: ResourceKey) -> AuditEntity {
        key.type == "Group" ? .group(key.id) : AuditEntity(.resource, key.description)
    }
    public static func task(_ id: String) -> AuditEntity { AuditEntity(.task, id) }
    public static func file(task: String, name: String) -> AuditEntity { AuditEntity(.file, "\(task)/\(name)") }
}

public struct AuditDetail: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// FHIR `AuditEvent.outcome` (http://hl7.org/fhir/audit-event-outcome).
public enum AuditOutcome: String, Sendable, CaseIterable {
    case success = "0"
    /// Refused: the client's request was not allowed or not valid (a 4xx).
    case minorFailure = "4"
    /// The action failed on our side (a failed export, a 5xx).
    case seriousFailure = "8"

    public init(httpStatus: Int) {
        self = httpStatus < 400 ? .success : httpStatus < 500 ? .minorFailure : .seriousFailure
    }
}
