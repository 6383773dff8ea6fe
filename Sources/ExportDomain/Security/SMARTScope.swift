/// A write interaction, as SMART v2 names it: `c` create, `u` update, `d` delete.
public enum WriteAction: Character, Sendable, CaseIterable {
    case create = "c", update = "u", delete = "d"

    public var permission: SMARTPermissions {
        switch self {
        case .create: return .create
        case .update: return .update
        case .delete: return .delete
        }
    }

    /// The word for messages: "create", "update", "delete".
    public var word: String { "\(self)" }
}

/// SMART v2 permissions (`c`reate, `r`ead, `u`pdate, `d`elete, `s`earch). SMART v1 `read`
/// means `r` + `s`, `write` means `c` + `u` + `d`, `*` all five.
public struct SMARTPermissions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let create = SMARTPermissions(rawValue: 1 << 0)
    public static let read = SMARTPermissions(rawValue: 1 << 1)
    public static let update = SMARTPermissions(rawValue: 1 << 2)
    public static let delete = SMARTPermissions(rawValue: 1 << 3)
    public static let search = SMARTPermissions(rawValue: 1 << 4)

    /// v1 `.read`.
    public static let v1Read: SMARTPermissions = [.read, .search]
    /// v1 `.write`.
    public static let v1Write: SMARTPermissions = [.create, .update, .delete]
    /// v1 `.*`, v2 `.cruds`.
    public static let all: SMARTPermissions = [.create, .read, .update, .delete, .search]

    /// The v2 letters in their required order.
    static let letters: [(Character, SMARTPermissions)] = [
        ("c", .create), ("r", .read), ("u", .update), ("d", .delete), ("s", .search),
    ]

    /// The permission a v2 letter stands for (`c`, `r`, `u`, `d`, `s`).
    public init?(letter: Character) {
        guard let match = Self.letters.first(where: { $0.0 == letter }) else { return nil }
        self = match.1
    }

    /// The v2 spelling, e.g. `rs`.
    public var v2Letters: String {
        String(Self.letters.filter { contains($0.1) }.map(\.0))
    }
}

/// A SMART system-level resource scope: `system/{Type|*}.{read|write|*}` (v1) or
/// `system/{Type|*}.{c?r?u?d?s?}` (v2, letters in that order, at least one).
///
/// Only `system/` scopes exist for a backend service; `patient/`, `user/`, `openid`,
/// `launch`, granular scopes (`?param=…`) and anything else are not valid here.
public struct SMARTScope: Sendable, Hashable, CustomStringConvertible {
    public enum Version: Sendable, Hashable {
        case v1
        case v2
    }

    /// A FHIR R4 resource type, or `*` for all.
    public var resourceType: String
    public var permissions: SMARTPermissions
    /// The syntax the scope is written in.
    public var version: Version

    public init(resourceType: String, permissions: SMARTPermissions, version: Version) {
        self.resourceType = resourceType
        self.permissions = permissions
        self.version = version
    }

    /// Parses one scope token; a malformed scope is `invalid_scope` naming it.
    public static func parse(_ text: String) throws(OAuthError) -> SMARTScope {
        func invalid(_ reason: String) -> OAuthError {
            .invalidScope("'\(text)' is not a valid scope: \(reason)")
        }
        guard text.hasPrefix("system/") else {
            throw invalid("only SMART system scopes (system/{Type|*}.{permissions}) are supported")
        }
        let body = text.dropFirst("system/".count)
        if body.contains("?") { throw invalid("granular scopes (with '?') are not supported") }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw invalid("expected system/{Type|*}.{read|write|*} or system/{Type|*}.{cruds}")
        }
        let type = String(parts[0])
        guard type == "*" || ResourceTypes.all.contains(type) else {
            throw invalid("unknown resource type '\(type)'")
        }
        switch parts[1] {
        case "read": return SMARTScope(resourceType: type, permissions: .v1Read, version: .v1)
        case "write": return SMARTScope(resourceType: type, permissions: .v1Write, version: .v1)
        case "*": return SMARTScope(resourceType: type, permissions: .all, version: .v1)
        case let action:
            var permissions: SMARTPermissions = []
            var next = 0  // index into `letters`: each letter at most once, in order
            for character in action {
                guard let position = SMARTPermissions.letters[next...].firstIndex(where: { $0.0 == character }) else {
                    throw invalid("unknown action '\(action)' (v1: read, write, *; v2: letters of c, r, u, d, s in that order)")
                }
                permissions.insert(SMARTPermissions.letters[position].1)
                next = position + 1
            }
            return SMARTScope(resourceType: type, permissions: permissions, version: .v2)
        }
    }

    /// Whether the scope is about `type` (its own type, or `*`).
    public func covers(_ type: String) -> Bool {
        resourceType == "*" || resourceType == type
    }

    /// The scope in its version's syntax. Permissions v1 cannot spell (anything but exactly
    /// read, write or all) are written with v2 letters.
    public var description: String {
        "system/\(resourceType).\(action)"
    }

    private var action: String {
        if version == .v1 {
            switch permissions {
            case .v1Read: return "read"
            case .v1Write: return "write"
            case .all: return "*"
            default: break
            }
        }
        return permissions.v2Letters
    }
}

/// Which scopes a client gets: what it asked for, intersected with what it is allowed.
public enum ScopeGrant {
    /// The granted scope string: for each requested scope in order, its intersection with
    /// each allowed scope (`*` ∩ `Patient` = `Patient`; permissions intersected) and with the
    /// types this server serves (`ATRTypes.grantable`), written in
    /// the requested scope's syntax, without duplicates. A malformed requested scope, no
    /// requested scope, or nothing granted → `invalid_scope`. Malformed allowed scopes grant
    /// nothing (they are checked when a client is registered).
    public static func grant(requested: String, allowed: String) throws(OAuthError) -> String {
        let requestedTokens = requested.split(separator: " ")
        guard !requestedTokens.isEmpty else { throw .invalidScope("no scope was requested") }
        let allowedScopes = allowed.split(separator: " ").compactMap { try? SMARTScope.parse(String($0)) }

        var granted: [String] = []
        var seen: Set<String> = []
        for token in requestedTokens {
            let request = try SMARTScope.parse(String(token))
            var byType: [(type: String, permissions: SMARTPermissions)] = []
            for allowance in allowedScopes {
                let type: String
                if request.resourceType == "*" {
                    type = allowance.resourceType
                } else if allowance.covers(request.resourceType) {
                    type = request.resourceType
                } else {
                    continue
                }
                let permissions = request.permissions.intersection(allowance.permissions)
                guard !permissions.isEmpty else { continue }
                if let index = byType.firstIndex(where: { $0.type == type }) {
                    byType[index].permissions.formUnion(permissions)
                } else {
                    byType.append((type, permissions))
                }
            }
            // Nothing of another type is ever served: no scope for it is granted.
            byType.removeAll { $0.type != "*" && !ATRTypes.grantable.contains(ResourceType($0.type)) }
            // A type-specific grant already implied by the wildcard grant adds nothing.
            if let wildcard = byType.first(where: { $0.type == "*" }) {
                byType.removeAll { $0.type != "*" && wildcard.permissions.isSuperset(of: $0.permissions) }
            }
            for (type, permissions) in byType {
                let scope = SMARTScope(resourceType: type, permissions: permissions, version: request.version)
                if seen.insert(scope.description).inserted { granted.append(scope.description) }
            }
        }
        guard !granted.isEmpty else {
            throw .invalidScope("none of the requested scopes is allowed for this client")
        }
        return granted.joined(separator: " ")
    }
}

/// The scopes of an access token, asked per request. Tokens from an external issuer may
/// carry other scopes (`openid`, `patient/…`): those grant nothing here and are ignored.
public struct ScopeSet: Sendable, Equatable {
    public let scopes: [SMARTScope]

    public init(granted: String) {
        scopes = granted.split(separator: " ").compactMap { try? SMARTScope.parse(String($0)) }
    }

    /// Whether every permission in `permissions` is granted for `type`, by one scope or several.
    public func allows(_ type: ResourceType, _ permissions: SMARTPermissions) -> Bool {
        var granted: SMARTPermissions = []
        for scope in scopes where scope.covers(type.rawValue) { granted.formUnion(scope.permissions) }
        return granted.isSuperset(of: permissions)
    }

    /// Read access for export: v1 `.read` or v2 `r` (`s` alone is search, not read).
    public func canRead(_ type: ResourceType) -> Bool {
        allows(type, .read)
    }

    /// Write access for one FHIR interaction; v1 `.write` and `.*` include all three.
    public func canWrite(_ type: ResourceType, action: WriteAction) -> Bool {
        allows(type, action.permission)
    }

    /// The types of `types` the token can read, in their order.
    public func readableTypes(among types: [ResourceType]) -> [ResourceType] {
        types.filter(canRead)
    }

    /// The types of `types` the token cannot read, in their order (for a 403 naming the
    /// missing scopes, see `readScope(for:)`).
    public func missingRead(_ types: [ResourceType]) -> [ResourceType] {
        types.filter { !canRead($0) }
    }

    /// The v1 scope that grants reading `type`, e.g. `system/Consent.read`.
    public static func readScope(for type: ResourceType) -> String {
        "system/\(type).read"
    }
}
