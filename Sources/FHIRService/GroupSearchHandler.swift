import ExportDomain
import Storage

/// `GET {base}/Group?…`: discovery of attribution lists (`GroupSearch`), only those the client
/// may see, paged in id order; `_summary=true` without members, `_summary=count` the total only.
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
        let search = try GroupSearch.parse(items, baseURL: settings.publicBaseURL)
        // A Group the client may not see is left out as if it did not exist, from the total too.
        let page = try database.searchGroups(search) { access.allows(.group(id: $0)) }
        access.audit.entities = page.groups.map { .group($0.key.id) } + [AuditEntity(.query, "Group?" + request.query)]

        var links: [JSONValue] = [["relation": "self", "url": .string("\(settings.publicBaseURL)/Group" + (request.query.isEmpty ? "" : "?\(request.query)"))]]
        if let after = page.nextAfter {
            links.append(["relation": "next", "url": .string(searchURL("Group", SearchPaging.nextPage(items, cursor: after)))])
        }
        // The stored bytes are spliced in as they are, without re-parsing large Groups.
        var body: [UInt8] = Array(#"{"resourceType":"Bundle","type":"searchset","total":"#.utf8)
        body += Array(String(page.total).utf8)
        body += Array(#","link":"#.utf8)
        JSONValue.array(links).serialize(into: &body)
        if search.summary != .count {
            body += Array(#","entry":["#.utf8)
            for (index, group) in page.groups.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                body += Array(#"{"fullUrl":"#.utf8)
                JSONValue.string("\(settings.publicBaseURL)/\(group.key)").serialize(into: &body)
                body += Array(#","resource":"#.utf8)
                if search.summary == .summary {
                    guard let summary = Subsetting.groupWithoutMembers(group.json) else {
                        throw FHIRError(status: 500, code: .exception, "Stored \(group.key) is not a JSON object")
                    }
                    body += try disclosed(group.key, json: summary, access: access)
                } else {
                    body += try disclosed(group.key, json: group.json, access: access)
                }
                body += Array(#","search":{"mode":"match"}}"#.utf8)
            }
            body += Array("]".utf8)
        }
        body += Array("}".utf8)
        return .fhir(200, bytes: body)
    }
}
