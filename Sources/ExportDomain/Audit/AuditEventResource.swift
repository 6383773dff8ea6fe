/// An `AuditRecord` as a FHIR R4 `AuditEvent`, shaped after IHE Basic Audit Log Patterns: the
/// client as the requesting agent (with its network address), this server as the source and
/// second agent, and the Group, task, file or resource as entities.
public enum AuditEventResource {
    public static let clientSystem = "urn:atr-export:client"
    public static let taskSystem = "urn:atr-export:task"
    public static let fileSystem = "urn:atr-export:file"
    static let serverName = "ATR Export"

    public static func json(_ record: AuditRecord) -> JSONValue {
        var event = JSONObject([("resourceType", "AuditEvent")])
        if let id = record.id { event["id"] = .string(String(id)) }
        event["type"] = coding(record.action.type)
        event["subtype"] = .array(record.action.subtypes.map(coding))
        event["action"] = .string(record.action.actionCode)
        event["recorded"] = .string(record.recorded.description)
        event["outcome"] = .string(record.outcome.rawValue)
        let reason = record.details.first { $0.name == "reason" }?.value
        if let reason { event["outcomeDesc"] = .string(reason) }
        event["agent"] = .array([clientAgent(record), serverAgent])
        event["source"] = [
            "observer": ["display": .string(serverName)],
            "type": [["system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"]],
        ]
        let details = record.details.filter { $0.name != "reason" }
        var entities = record.entities.map(entity)
        if !details.isEmpty {
            let detail = JSONValue.array(details.map { ["type": .string($0.name), "valueString": .string($0.value)] })
            if case .object(var first)? = entities.first {
                first["detail"] = detail
                entities[0] = .object(first)
            } else {
                entities = [["type": entityType("2", "System Object"), "role": role("4", "Domain Resource"),
                             "description": "the request", "detail": detail]]
            }
        }
        if !entities.isEmpty { event["entity"] = .array(entities) }
        return .object(event)
    }

    private static func coding(_ coding: AuditAction.Coding) -> JSONValue {
        ["system": .string(coding.system), "code": .string(coding.code), "display": .string(coding.display)]
    }

    private static func clientAgent(_ record: AuditRecord) -> JSONValue {
        var agent = JSONObject([
            ("type", ["coding": [["system": .string(AuditAction.dicom), "code": "110153", "display": "Source Role ID"]]]),
        ])
        if let clientId = record.clientId {
            agent["who"] = ["identifier": ["system": .string(clientSystem), "value": .string(clientId)], "display": .string(clientId)]
        } else {
            agent["who"] = ["display": "unidentified client"]
        }
        agent["requestor"] = true
        if let address = record.address {
            // http://hl7.org/fhir/network-type: 2 = IP address.
            agent["network"] = ["address": .string(address), "type": "2"]
        }
        return .object(agent)
    }

    private static let serverAgent: JSONValue = [
        "type": ["coding": [["system": .string(AuditAction.dicom), "code": "110152", "display": "Destination Role ID"]]],
        "who": ["display": .string(serverName)],
        "requestor": false,
    ]

    private static func entity(_ entity: AuditEntity) -> JSONValue {
        switch entity.kind {
        case .group:
            return ["what": ["reference": .string(entity.value)], "type": entityType("2", "System Object"), "role": role("7", "List")]
        case .resource:
            let isPatient = entity.value.hasPrefix("Patient/")
            return ["what": ["reference": .string(entity.value)],
                    "type": isPatient ? entityType("1", "Person") : entityType("2", "System Object"),
                    "role": isPatient ? role("1", "Patient") : role("4", "Domain Resource")]
        case .task:
            return ["what": ["identifier": ["system": .string(taskSystem), "value": .string(entity.value)]],
                    "type": entityType("2", "System Object"), "role": role("20", "Job")]
        case .file:
            return ["what": ["identifier": ["system": .string(fileSystem), "value": .string(entity.value)]],
                    "type": entityType("2", "System Object"), "role": role("3", "Report")]
        case .query:
            return ["type": entityType("2", "System Object"), "role": role("24", "Query"),
                    "query": .string(Base64URL.standard(Array(entity.value.utf8)))]
        }
    }

    private static func entityType(_ code: String, _ display: String) -> JSONValue {
        ["system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": .string(code), "display": .string(display)]
    }

    private static func role(_ code: String, _ display: String) -> JSONValue {
        ["system": "http://terminology.hl7.org/CodeSystem/object-role", "code": .string(code), "display": .string(display)]
    }
}
