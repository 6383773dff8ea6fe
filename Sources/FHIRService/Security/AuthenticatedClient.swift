import ExportDomain
import Storage

/// Who is calling, from a verified bearer token; nil everywhere when SMART is switched off.
public struct AuthenticatedClient: Sendable {
    public var clientId: String
    public var scopes: ScopeSet
    /// The token's `groups` claim (used for an external issuer, which keeps no registry here).
    public var groups: [String]
    /// The token's `role` claim (external issuer); nil when absent.
    public var role: ClientRole?
    public var expiresAt: FHIRInstant
}

/// The authorisation decisions of one request: `AccessPolicy` with this request's principal.
/// With SMART off (`principal` nil) everything is allowed.
struct Access {
    let principal: ClientPrincipal?
    let audit: RequestAudit

    var clientId: String? { principal?.clientId }

    /// Throws what `AccessPolicy` refuses: 403 naming the missing scope or the role's limit, or
    /// `notFound` — the very error a missing resource gets, so nothing can be probed.
    func require(_ request: AccessPolicy.Request, notFound: @autoclosure () -> FHIRError) throws {
        switch AccessPolicy.decide(principal, request) {
        case .allowed:
            return
        case .notFound:
            audit.hidden = true
            throw notFound()
        case .missingReads(let missing):
            throw Self.missingRead(missing)
        case .missingWrite(let type, let action):
            throw FHIRError(status: 403, code: .forbidden,
                            "The access token lacks \(action.word) access to \(type) (scope system/\(type).write or system/\(type).\(action.rawValue))")
        case .forbiddenForRole(let reason):
            throw FHIRError(status: 403, code: .forbidden, reason)
        }
    }

    /// Whether the policy allows `request`, without throwing (filtering search results).
    func allows(_ request: AccessPolicy.Request) -> Bool {
        AccessPolicy.decide(principal, request) == .allowed
    }

    static func missingRead(_ missing: [ResourceType]) -> FHIRError {
        FHIRError(status: 403, code: .forbidden,
                  "The access token lacks read access to \(missing.joined(separator: ", ")) (e.g. scope "
                      + missing.map(ScopeSet.readScope(for:)).joined(separator: " ") + ")")
    }
}

extension FHIRService {
    /// The caller of this request, authenticated, with the role and Groups it has now: from the
    /// client registry for the built-in issuer (a client removed since its token was issued is a
    /// provider of no Group), from the token's `role` and `groups` claims for an external issuer.
    func access(_ request: HTTPRequest, audit: RequestAudit) throws -> Access {
        guard let client = try security.authenticate(authorization: request.header("authorization"), now: environment.now()) else {
            return Access(principal: nil, audit: audit)
        }
        let principal: ClientPrincipal
        if settings.smart.builtInAuthorizationServer {
            let registered = try database.client(client.clientId)
            principal = ClientPrincipal(clientId: client.clientId, role: registered?.role ?? .provider, scopes: client.scopes,
                                        groups: registered?.groups)
        } else {
            principal = ClientPrincipal(clientId: client.clientId, role: client.role ?? .provider, scopes: client.scopes,
                                        groups: client.groups)
        }
        audit.clientId = principal.clientId
        audit.role = principal.role
        return Access(principal: principal, audit: audit)
    }
}
