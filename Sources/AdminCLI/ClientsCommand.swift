import ArgumentParser
import ExportDomain
import FHIRService
import Foundation
import Logging
import Runtime
import Storage

struct ClientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Register SMART Backend Services clients.",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register (or replace) a client with its public keys, allowed scopes and Groups."
        )

        @Option(help: "The client id (the `iss`/`sub` of its assertions).")
        var id: String

        @Option(help: "A JWKS file (JSON) or a PEM public key file.")
        var jwks: String?

        @Option(name: .customLong("jwks-url"), help: "A URL serving the client's JWKS (fetched with a timeout, cached per Cache-Control).")
        var jwksURL: String?

        @Option(help: "Scopes the client may be granted, space-separated, e.g. \"system/*.read\".")
        var scope: String

        @Option(name: .customLong("group"), help: "A Group id the client may export (repeatable); `*` for all.")
        var groups: [String] = []

        @Option(help: "provider (default): sees only what its Groups' exports disclose; admin: loads data, reads everything and the audit trail.")
        var role: String = ClientRole.provider.rawValue

        func validate() throws {
            guard (jwks == nil) != (jwksURL == nil) else { throw ValidationError("give exactly one of --jwks and --jwks-url") }
            guard !id.isEmpty, id.count <= 255 else { throw ValidationError("--id must be 1 to 255 characters") }
            guard ClientRole(rawValue: role) != nil else {
                throw ValidationError("--role must be one of \(ClientRole.allCases.map(\.rawValue).joined(separator: ", ")), not '\(role)'")
            }
        }

        func run() throws {
            let database = ConfigurationLoader.openDatabaseOrExit(ConfigurationLoader.loadOrExit(program: "atrctl"), program: "atrctl")
            _ = try ScopeGrant.grant(requested: scope, allowed: scope)
            var stored: [UInt8]?
            if let jwks {
                guard let data = FileManager.default.contents(atPath: jwks) else { throw ValidationFailure("cannot read \(jwks)") }
                let text = String(decoding: data, as: UTF8.self)
                let set: JWKSet
                if text.contains("-----BEGIN") {
                    set = try JWKSet(json: .object(JSONObject([("keys", .array([try JWK(pem: text).json]))])))
                } else {
                    set = try JWKSet(json: try JSONParser.parse(Array(data)))
                }
                guard !set.keys.isEmpty else { throw ValidationFailure("\(jwks) holds no usable RS384/ES384 public key") }
                stored = JSONValue.object(JSONObject([("keys", .array(set.keys.map(\.json)))])).serialized()
            }
            try database.saveClient(RegisteredClient(id: id, jwks: stored, jwksURL: jwksURL, scopes: scope,
                                                     groups: groups, role: ClientRole(rawValue: role) ?? .provider,
                                                     createdAt: SystemClock.now()))
            print("registered client \(id) (\(role))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The registered clients.")

        func run() throws {
            let database = ConfigurationLoader.openDatabaseOrExit(ConfigurationLoader.loadOrExit(program: "atrctl"), program: "atrctl")
            for client in try database.allClients() {
                let keys = client.jwksURL ?? "\((try? JWKSet(json: JSONParser.parse(client.jwks ?? [])))?.keys.count ?? 0) inline key(s)"
                print("\(client.id)  role: \(client.role.rawValue)  scopes: \(client.scopes)  groups: \(client.groups.joined(separator: ","))  keys: \(keys)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client; its tokens stop working when they expire.")

        @OptionGroup var client: IdentifierOption

        func run() throws {
            let id = client.value
            let database = ConfigurationLoader.openDatabaseOrExit(ConfigurationLoader.loadOrExit(program: "atrctl"), program: "atrctl")
            guard try database.removeClient(id) else { throw ValidationFailure("no client '\(id)'") }
            print("removed client \(id)")
        }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Development: mint an access token for a registered client without a client assertion."
    )

    @Option(help: "A registered client id.")
    var client: String

    @Option(help: "Requested scopes (granted = requested ∩ the client's allowed scopes).")
    var scope: String

    func run() throws {
        let settings = ConfigurationLoader.loadOrExit(program: "atrctl")
        let database = ConfigurationLoader.openDatabaseOrExit(settings, program: "atrctl")
        guard let registered = try database.client(client) else { throw ValidationFailure("no client '\(client)'") }
        let security = try SecurityContext(settings: settings.smart, logger: Logger(label: "atrctl"))
        guard let signer = security.signer else { throw ValidationFailure("the built-in authorization server is off") }
        let granted = try ScopeGrant.grant(requested: scope, allowed: registered.scopes)
        print(signer.issue(clientId: registered.id, scope: granted, groups: registered.groups, issuer: settings.smart.issuer,
                           audience: settings.smart.audience, now: SystemClock.now(),
                           lifetimeSeconds: settings.smart.tokenLifetimeSeconds, jti: SystemRandom.uuid()))
    }
}
