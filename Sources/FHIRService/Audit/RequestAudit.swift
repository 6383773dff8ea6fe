import ExportDomain
import Storage

/// What one request contributes to the audit trail, collected while it is answered and
/// written once it is (`FHIRService.finishAudit`), unless its handler already wrote it inside
/// the transaction of the change it records.
final class RequestAudit {
    let address: String?
    var action: AuditAction?
    var clientId: String?
    var role: ClientRole?
    var entities: [AuditEntity] = []
    /// A 404 the access policy gave (`Access.require`): what the client may not see answers as absent.
    var hidden = false
    /// The status the client sees when it differs from the response's (nginx's `auth_request`
    /// refusals are all 403 to nginx).
    var statusShown: Int?
    var written = false

    init(address: String?) {
        self.address = address
    }

    func record(_ outcome: AuditOutcome, details: [AuditDetail], now: FHIRInstant) -> AuditRecord? {
        guard let action else { return nil }
        return AuditRecord(recorded: now, action: action, outcome: outcome, clientId: clientId, address: address,
                           entities: entities, details: details)
    }
}

extension FHIRService {
    /// Writes the request's record when `AuditRule` asks for one. A disclosure that cannot be
    /// recorded does not happen: its response becomes a 503. A refusal stays a refusal.
    func finishAudit(_ audit: RequestAudit, response: HTTPResponse, reason: String?, dialect: ErrorResponder.Dialect) -> HTTPResponse {
        guard !audit.written, let action = audit.action else { return response }
        let answered = AuditRule.Answered(action: action, status: audit.statusShown ?? response.status, reason: reason, hidden: audit.hidden,
                                          role: audit.role)
        guard let (outcome, details) = AuditRule.record(answered),
              let record = audit.record(outcome, details: details, now: environment.now()) else { return response }
        do {
            try database.recordAudit(record)
            return response
        } catch {
            logger.error("audit record not written", metadata: ["action": "\(action.rawValue)", "error": "\(error)"])
            guard response.status < 400 else { return response }
            let unavailable = FHIRError(status: 503, code: .transient, "The access cannot be recorded right now; retry shortly",
                                        headers: [HTTPHeader("Retry-After", "1")])
            return ErrorResponder.response(for: unavailable, dialect: dialect, logger: logger)
        }
    }
}
