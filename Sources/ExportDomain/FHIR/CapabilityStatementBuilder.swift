/// The server's CapabilityStatement: what is implemented, so clients (smart-fetch reads it)
/// only try what works.
public enum CapabilityStatementBuilder {
    public static let softwareName = "ATR Export"
    public static let softwareVersion = "0.1.0"


    public static func make(baseURL: String, tokenEndpoint: String) -> JSONValue {
        let interactions: JSONValue = .array(["read", "create", "update", "delete"].map { code in
            .object(JSONObject([("code", .string(code))]))
        })
        let resources: [JSONValue] = ATRTypes.served.map { type in
            var resource = JSONObject([
                ("type", .string(type.rawValue)),
                ("interaction", interactions),
                ("versioning", .string("versioned-update")),
                ("readHistory", .bool(false)),
                ("updateCreate", .bool(true)),
            ])
            if let profile = atrProfile(type) {
                resource["supportedProfile"] = .array([.string(profile)])
            }
            if type == "Group" {
                resource["interaction"] = .array(interactions.arrayValue! + [.object(JSONObject([("code", .string("search-type"))]))])
                resource["searchParam"] = .array(groupSearchParameters.map { name, type, definition, documentation in
                    var parameter = JSONObject([("name", .string(name))])
                    if let definition { parameter["definition"] = .string(definition) }
                    parameter["type"] = .string(type)
                    parameter["documentation"] = .string(documentation)
                    return .object(parameter)
                })
                resource["operation"] = .array(groupOperations.map(operation))
            }
            return .object(resource)
        }
        let security = JSONObject([
            ("extension", .array([.object(JSONObject([
                ("url", .string("http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris")),
                ("extension", .array([.object(JSONObject([("url", .string("token")), ("valueUri", .string(tokenEndpoint))]))])),
            ]))])),
            ("service", .array([.object(JSONObject([("coding", .array([.object(JSONObject([
                ("system", .string("http://terminology.hl7.org/CodeSystem/restful-security-service")),
                ("code", .string("SMART-on-FHIR")),
            ]))]))]))])),
            ("description", .string("SMART Backend Services: client_credentials with private_key_jwt (RS384, ES384)")),
        ])
        let rest = JSONObject([
            ("mode", .string("server")),
            ("security", .object(security)),
            ("resource", .array(resources)),
            ("interaction", .array([.object(JSONObject([("code", .string("transaction"))])),
                                    .object(JSONObject([("code", .string("batch"))]))])),
        ])
        return .object(JSONObject([
            ("resourceType", .string("CapabilityStatement")),
            ("status", .string("active")),
            ("date", .string("2026-11-26")),
            ("kind", .string("instance")),
            ("instantiates", .array([.string(atrProducer), .string("http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data")])),
            ("software", .object(JSONObject([("name", .string(softwareName)), ("version", .string(softwareVersion))]))),
            ("implementation", .object(JSONObject([("description", .string("Da Vinci ATR member attribution export")),
                                                   ("url", .string(baseURL))]))),
            ("fhirVersion", .string("4.0.1")),
            ("format", .array([.string("application/fhir+json"), .string("json")])),
            ("rest", .array([.object(rest)])),
        ]))
    }

    /// The Da Vinci ATR Producer requirements this server implements.
    public static let atrProducer = "http://hl7.org/fhir/us/davinci-atr/CapabilityStatement/atr-producer"

    /// The profile the ATR Producer CapabilityStatement names for each exported type: the IG's
    /// profiles are `atr-` and the lower-cased type (`atr-group`, `atr-practitionerrole`).
    static func atrProfile(_ type: ResourceType) -> String? {
        guard ATRTypes.all.contains(type) else { return nil }
        return "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/atr-" + type.rawValue.lowercased()
    }

    /// `GroupSearch.parameters` but the result parameters: name, type, the definition (FHIR R4's
    /// where there is one; `name` and `period` are this server's), what it matches.
    static let groupSearchParameters: [(String, String, String?, String)] = [
        ("identifier", "token", "http://hl7.org/fhir/SearchParameter/Group-identifier",
         "Group.identifier: [system|]value, |value or system|; commas for any of several, repeated for all"),
        ("name", "string", nil, "Group.name, case-insensitive prefix (the ATR IG's discovery by name)"),
        ("characteristic", "token", "http://hl7.org/fhir/SearchParameter/Group-characteristic", "Group.characteristic.code"),
        ("characteristic-value", "composite", "http://hl7.org/fhir/SearchParameter/Group-characteristic-value",
         "code$value: Group.characteristic.code and, of the same characteristic, valueCodeableConcept or valueBoolean"),
        ("managing-entity", "reference", "http://hl7.org/fhir/SearchParameter/Group-managing-entity", "Group.managingEntity: Type/id or id"),
        ("period", "date", nil,
         "The ATR contract period: the ext-contractValidityPeriod extension's valuePeriod (prefixes eq, gt, lt, ge, le)"),
    ]

    /// Group operations: the exports, and the ATR Producer's list maintenance operations.
    static let groupOperations: [(String, String)] = [
        ("davinci-data-export", "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/davinci-data-export"),
        ("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"),
        ("member-add", "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/member-add"),
        ("member-remove", "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/member-remove"),
        ("confirm-attribution-list", "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/confirm-attribution-list"),
        ("attribution-status", "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/attribution-status"),
    ]

    private static func operation(_ name: String, _ definition: String) -> JSONValue {
        .object(JSONObject([("name", .string(name)), ("definition", .string(definition))]))
    }
}
