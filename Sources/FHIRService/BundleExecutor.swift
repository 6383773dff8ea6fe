import ExportDomain
import Storage

/// Carries out a parsed batch or transaction Bundle against the database. The one executor of
/// the `POST {base}` rules, used by the HTTP handler and by `atrctl import`, so both behave alike:
/// a transaction is one write transaction (the first failing entry rolls back every entry), a
/// batch commits each entry on its own.
public struct BundleExecutor {
    /// What happened to one entry of a batch; a transaction either succeeds whole or throws.
    public enum EntryResult {
        case done(response: JSONValue, created: Bool)
        case failed(Error)
    }

    let database: Database
    let baseURL: String

    public init(database: Database, baseURL: String) {
        self.database = database
        self.baseURL = baseURL
    }

    /// One result per entry, in Bundle order. A transaction throws its first failure, located
    /// as `entry[i]`, and writes nothing.
    public func execute(_ bundle: BundleRequest, now: FHIRInstant) throws -> [EntryResult] {
        switch bundle.kind {
        case .transaction:
            return try database.writeTransaction {
                try bundle.entries.enumerated().map { index, result in
                    do {
                        return try execute(try result.get(), now: now)
                    } catch let error as FHIRError {
                        throw FHIRError(status: error.status, code: error.code, "entry[\(index)]: \(error.diagnostics)")
                    }
                }
            }
        case .batch:
            return bundle.entries.map { result in
                do {
                    let entry = try result.get()
                    return try database.writeTransaction { try execute(entry, now: now) }
                } catch {
                    return .failed(error)
                }
            }
        }
    }

    private func execute(_ entry: BundleRequest.Entry, now: FHIRInstant) throws -> EntryResult {
        let key = ResourceKey(type: entry.type, id: entry.id)
        switch entry.method {
        case .put, .post:
            let (stored, created) = try database.put(entry.resource ?? JSONObject(), as: key, now: now)
            let response = JSONObject([
                ("status", .string(created ? "201 Created" : "200 OK")),
                ("location", .string(VersionLocation.path(stored))),
                ("etag", .string("W/\"\(stored.versionId)\"")),
                ("lastModified", .string(stored.lastUpdated.description)),
            ])
            return .done(response: .object(JSONObject([
                ("fullUrl", .string("\(baseURL)/\(key)")),
                ("response", .object(response)),
            ])), created: created)
        case .delete:
            switch try database.delete(key, now: now) {
            case .deleted, .alreadyDeleted:
                return .done(response: Self.entryResponse(status: 204, outcome: nil), created: false)
            case .missing:
                throw FHIRError.notFound("\(key) is not known")
            }
        }
    }

    static func entryResponse(status: Int, outcome: JSONValue?) -> JSONValue {
        var response = JSONObject([("status", .string("\(status) \(HTTPResponse.reasonPhrase(status))"))])
        if let outcome { response["outcome"] = outcome }
        return .object(JSONObject([("response", .object(response))]))
    }
}

/// `Type/id/_history/version`: where a stored version lives, relative to the FHIR base.
enum VersionLocation {
    static func path(_ stored: StoredResource) -> String {
        "\(stored.key)/_history/\(stored.versionId)"
    }
}
