import ExportDomain

/// A registered SMART Backend Services client.
public struct RegisteredClient: Sendable, Equatable {
    public var id: String
    /// An inline JWKS (JSON), or nil when the keys are fetched from `jwksURL`.
    public var jwks: [UInt8]?
    public var jwksURL: String?
    /// The scopes the client may be granted (space-separated SMART scopes).
    public var scopes: String
    /// Group ids the client may export; `*` = all.
    public var groups: [String]
    public var role: ClientRole
    public var createdAt: FHIRInstant

    public init(id: String, jwks: [UInt8]?, jwksURL: String?, scopes: String, groups: [String], role: ClientRole,
                createdAt: FHIRInstant) {
        self.id = id
        self.jwks = jwks
        self.jwksURL = jwksURL
        self.scopes = scopes
        self.groups = groups
        self.role = role
        self.createdAt = createdAt
    }
}

extension Database {
    public func saveClient(_ client: RegisteredClient) throws {
        try writeTransaction {
            try connection.run(
                """
                INSERT INTO clients (id, jwks, jwks_url, scopes, groups, role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET jwks = excluded.jwks, jwks_url = excluded.jwks_url,
                    scopes = excluded.scopes, groups = excluded.groups, role = excluded.role
                """,
                [.text(client.id), client.jwks.map(SQLValue.blob) ?? .null, client.jwksURL.map(SQLValue.text) ?? .null,
                 .text(client.scopes), .text(client.groups.joined(separator: " ")), .text(client.role.rawValue), .instant(client.createdAt)]
            )
        }
    }

    public func client(_ id: String) throws -> RegisteredClient? {
        try clients(where: "WHERE id = ?", [.text(id)]).first
    }

    public func allClients() throws -> [RegisteredClient] {
        try clients(where: "ORDER BY id", [])
    }

    private func clients(where clause: String, _ parameters: [SQLValue]) throws -> [RegisteredClient] {
        try connection.query("SELECT id, jwks, jwks_url, scopes, groups, role, created_at FROM clients \(clause)", parameters) { row in
            RegisteredClient(id: row.text(0) ?? "", jwks: row.isNull(1) ? nil : row.blob(1), jwksURL: row.text(2),
                             scopes: row.text(3) ?? "", groups: (row.text(4) ?? "").split(separator: " ").map(String.init),
                             // A role this build does not know gets the narrower access.
                             role: row.text(5).flatMap(ClientRole.init(rawValue:)) ?? .provider, createdAt: row.instant(6))
        }
    }

    public func removeClient(_ id: String) throws -> Bool {
        try writeTransaction {
            try connection.run("DELETE FROM clients WHERE id = ?", [.text(id)])
            return connection.changes == 1
        }
    }

    /// Records a client assertion's `jti` until it expires; false when it was already used
    /// (a replay). Expired entries are dropped on the way.
    /// `audit` (the token's issue) commits with the use, or neither does.
    public func useAssertion(clientId: String, jti: String, expiresAtMilliseconds: Int64, nowMilliseconds: Int64,
                             audit: AuditRecord? = nil) throws -> Bool {
        try writeTransaction {
            try connection.run("DELETE FROM used_assertions WHERE expires_at < ?", [.integer(nowMilliseconds)])
            try connection.run("INSERT INTO used_assertions (client_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                               [.text(clientId), .text(jti), .integer(expiresAtMilliseconds)])
            guard connection.changes == 1 else { return false }
            if let audit { try appendAudit(audit) }
            return true
        }
    }
}
