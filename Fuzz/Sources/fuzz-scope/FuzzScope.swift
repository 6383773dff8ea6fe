import ExportDomain
import FuzzSupport

/// The scopes a token request asks for (first line) and those a client is allowed (second line).
@main enum FuzzScope {
    static let permissions: [SMARTPermissions] = [.create, .read, .update, .delete, .search]

    static func main() {
        FuzzDriver.run { input in
            let fields = input.textFields(2)
            for token in fields[0].split(separator: " ") {
                guard let scope = try? SMARTScope.parse(String(token)) else { continue }
                require((try? SMARTScope.parse(scope.description)) == scope, "'\(scope)' does not parse back")
            }
            guard let granted = try? ScopeGrant.grant(requested: fields[0], allowed: fields[1]) else { return }
            let (grant, requested, allowed) = (ScopeSet(granted: granted), ScopeSet(granted: fields[0]), ScopeSet(granted: fields[1]))
            require(grant.scopes.count == granted.split(separator: " ").count, "granted a malformed scope: \(granted)")
            // Never more than was asked for, nor more than the client may have.
            for type in ResourceTypes.all.map(ResourceType.init(stringLiteral:)) {
                for permission in permissions where grant.allows(type, permission) {
                    require(requested.allows(type, permission) && allowed.allows(type, permission),
                            "granted \(permission) on \(type) beyond the request or the allowance: \(granted)")
                }
            }
        }
    }
}
