/// The two kinds of client (`atrctl clients add --role`).
public enum ClientRole: String, Sendable, CaseIterable {
    /// A provider organisation: never sees more than an export of its own Groups would disclose.
    case provider
    /// The payer's own tooling: loads and manages data, reads everything and the audit trail.
    case admin
}

/// Who is calling, as every access decision needs it: the token's client and scopes, and the
/// role and Groups the client is registered with now.
public struct ClientPrincipal: Sendable, Equatable {
    public var clientId: String
    public var role: ClientRole
    public var scopes: ScopeSet
    /// The Groups the client is registered for (`*` = all); nil when it is not registered any more.
    public var groups: [String]?

    public init(clientId: String, role: ClientRole, scopes: ScopeSet, groups: [String]?) {
        self.clientId = clientId
        self.role = role
        self.scopes = scopes
        self.groups = groups
    }

    /// Whether the client may see `Group/{groupId}` and what its export discloses. Admins reach
    /// every Group; a provider only the Groups it is registered for.
    public func reaches(groupId: String) -> Bool {
        if role == .admin { return true }
        guard let groups else { return false }
        return groups.contains("*") || groups.contains(groupId)
    }
}
