import ExportDomain
import Storage

/// `GET {base}/Group?identifier=[system|]value&name=prefix`: find attribution lists (only those
/// the client may see).
extension FHIRService {
    func search(_ request: HTTPRequest, type: ResourceType, access: Access) throws -> HTTPResponse {
        guard type == "Group" else {
            throw FHIRError(status: 405, code: .notSupported, "Search is supported on Group and AuditEvent only, not on \(type)",
                            headers: [HTTPHeader("Allow", "POST")])
        }
        try access.require(.groupSearch, notFound: FHIRError.notFound("No Groups"))
        guard let items = request.queryItems else {
            throw FHIRError.badRequest(.invalid, "The query string is not validly percent-encoded")
        }
        var identifier: (system: String?, value: String)?
        var name: String?
        for (parameter, value) in items {
            switch parameter {
            case "identifier":
                guard identifier == nil else { throw FHIRError.badRequest(.notSupported, "identifier may be given once") }
                if let bar = value.firstIndex(of: "|") {
                    identifier = (String(value[..<bar]), String(value[value.index(after: bar)...]))
                } else {
                    identifier = (nil, value)
                }
            case "name":
                guard name == nil else { throw FHIRError.badRequest(.notSupported, "name may be given once") }
                name = value
            default:
                throw FHIRError.badRequest(.notSupported, "Unknown or unsupported search parameter '\(parameter)' (supported: identifier, name)")
            }
        }
        // A Group the client may not see is left out as if it did not exist.
        let groups = try database.searchGroups(identifier: identifier, namePrefix: name) { access.allows(.group(id: $0)) }
        access.audit.entities = groups.map { .group($0.key.id) } + [AuditEntity(.query, "Group?" + request.query)]
        // The stored bytes are spliced in as they are, without re-parsing large Groups.
        var body: [UInt8] = Array(#"{"resourceType":"Bundle","type":"searchset","total":"#.utf8)
        body += Array(String(groups.count).utf8)
        body += Array(#","link":[{"relation":"self","url":"#.utf8)
        JSONValue.string("\(settings.publicBaseURL)/Group" + (request.query.isEmpty ? "" : "?\(request.query)")).serialize(into: &body)
        body += Array(#"}],"entry":["#.utf8)
        for (index, group) in groups.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += Array(#"{"fullUrl":"#.utf8)
            JSONValue.string("\(settings.publicBaseURL)/\(group.key)").serialize(into: &body)
            body += Array(#","resource":"#.utf8)
            body += try disclosed(group.key, json: group.json, access: access)
            body += Array(#","search":{"mode":"match"}}"#.utf8)
        }
        body += Array("]}".utf8)
        return .fhir(200, bytes: body)
    }
}
