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
            if type == "Group" {
                resource["interaction"] = .array(interactions.arrayValue! + [.object(JSONObject([("code", .string("search-type"))]))])
                resource["searchParam"] = .array([
                    searchParam("identifier", "token"),
                    searchParam("name", "string"),
                ])
                resource["operation"] = .array([
                    operation("davinci-data-export", "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/davinci-data-export"),
                    operation("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"),
                ])
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
            ("instantiates", .array([.string("http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data")])),
            ("software", .object(JSONObject([("name", .string(softwareName)), ("version", .string(softwareVersion))]))),
            ("implementation", .object(JSONObject([("description", .string("Da Vinci ATR member attribution export")),
                                                   ("url", .string(baseURL))]))),
            ("fhirVersion", .string("4.0.1")),
            ("format", .array([.string("application/fhir+json"), .string("json")])),
            ("rest", .array([.object(rest)])),
        ]))
    }

    private static func operation(_ name: String, _ definition: String) -> JSONValue {
        .object(JSONObject([("name", .string(name)), ("definition", .string(definition))]))
    }

    private static func searchParam(_ name: String, _ type: String) -> JSONValue {
        .object(JSONObject([("name", .string(name)), ("type", .string(type))]))
    }
}
