import ExportDomain
import Storage

/// Who is calling, from a verified bearer token; nil everywhere when SMART is switched off.
public struct AuthenticatedClient: Sendable {
    public var clientId: String
    public var scopes: ScopeSet
    public var groups: [String]
    public var expiresAt: FHIRInstant
}

/// The authorisation decisions of one request. With SMART off (`client` nil) everything is allowed.
struct Access {
    let client: AuthenticatedClient?

    var clientId: String? { client?.clientId }

    /// 403 naming every missing read scope.
    func requireRead(_ types: [ResourceType]) throws {
        guard let client else { return }
        let missing = client.scopes.missingRead(types)
        guard missing.isEmpty else { throw Self.missingRead(missing) }
    }

    static func missingRead(_ missing: [ResourceType]) -> FHIRError {
        FHIRError(status: 403, code: .forbidden,
                  "The access token lacks read access to \(missing.joined(separator: ", ")) (e.g. scope "
                      + missing.map(ScopeSet.readScope(for:)).joined(separator: " ") + ")")
    }

    /// v1 `write` covers all three actions; v2 needs the action's letter.
    func requireWrite(_ type: ResourceType, action: WriteAction) throws {
        guard let client else { return }
        guard client.scopes.canWrite(type, action: action) else {
            throw FHIRError(status: 403, code: .forbidden,
                            "The access token lacks \(action.word) access to \(type) (scope system/\(type).write or system/\(type).\(action.rawValue))")
        }
    }

    /// A client may export only the Groups it is registered for (`*` = all).
    func requireGroup(_ groupId: String) throws {
        guard let client else { return }
        guard client.groups.contains("*") || client.groups.contains(groupId) else {
            throw FHIRError(status: 403, code: .forbidden, "Client '\(client.clientId)' is not registered for Group/\(groupId)")
        }
    }

}
