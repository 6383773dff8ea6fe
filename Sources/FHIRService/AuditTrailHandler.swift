import ExportDomain
import Storage

/// `GET {base}/AuditEvent?date=…&agent=…&entity=…&type=…&_count=…`: the audit trail, for admin
/// clients, as a searchset Bundle in the order it was written, paged by `next` links. The trail
/// is append-only: no AuditEvent is read, written or deleted one by one.
extension FHIRService {
    func routeAuditTrail(_ request: HTTPRequest, segments: [String], access: Access) throws -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            throw FHIRError(status: 405, code: .notSupported,
                            "The audit trail is append-only: AuditEvents cannot be created, changed or deleted",
                            headers: [HTTPHeader("Allow", "GET")])
        }
        switch segments.count {
        case 1: return try searchAuditTrail(request, access: access)
        case 2: return try readAuditEvent(segments[1], access: access)
        default: throw FHIRError.notFound("No FHIR endpoint at '\(request.path)'")
        }
    }

    private func readAuditEvent(_ id: String, access: Access) throws -> HTTPResponse {
        let notFound = FHIRError.notFound("AuditEvent/\(id) is not known")
        try access.require(.auditTrail, notFound: notFound)
        guard let number = Int64(id), number > 0,
              let record = try database.auditRecords(AuditQuery(count: 1, after: number - 1)).first, record.id == number else {
            throw notFound
        }
        return .fhir(200, AuditEventResource.json(record))
    }

    func searchAuditTrail(_ request: HTTPRequest, access: Access) throws -> HTTPResponse {
        try access.require(.auditTrail, notFound: FHIRError.notFound("No audit trail"))
        guard let items = request.queryItems else {
            throw FHIRError.badRequest(.invalid, "The query string is not validly percent-encoded")
        }
        let query = try AuditQuery.parse(items)
        var page = query
        page.count += 1
        var records = try database.auditRecords(page)
        let hasMore = records.count > query.count
        if hasMore { records.removeLast() }
        var links: [JSONValue] = [["relation": "self", "url": .string(auditURL(items))]]
        if hasMore, let last = records.last?.id {
            links.append(["relation": "next", "url": .string(auditURL(AuditQuery.nextPage(items, after: last)))])
        }
        let entries: [JSONValue] = records.map { record in
            ["fullUrl": .string("\(settings.publicBaseURL)/AuditEvent/\(record.id ?? 0)"),
             "resource": AuditEventResource.json(record), "search": ["mode": "match"]]
        }
        return .fhir(200, .object(JSONObject([
            ("resourceType", "Bundle"), ("type", "searchset"), ("link", .array(links)), ("entry", .array(entries)),
        ])))
    }

    private func auditURL(_ items: [(name: String, value: String)]) -> String {
        searchURL("AuditEvent", items)
    }

    /// A search link (`self`, `next`) of `{base}/{type}` with `items` as its query.
    func searchURL(_ type: ResourceType, _ items: [(name: String, value: String)]) -> String {
        let query = items.map { "\(FormEncoding.encode($0.name))=\(FormEncoding.encode($0.value))" }.joined(separator: "&")
        return "\(settings.publicBaseURL)/\(type)" + (query.isEmpty ? "" : "?\(query)")
    }
}

/// Percent-encoding for query values written into links.
enum FormEncoding {
    static func encode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"), UInt8(ascii: ":"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return output
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
