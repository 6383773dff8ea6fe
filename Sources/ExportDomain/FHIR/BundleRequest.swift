/// A `batch` or `transaction` Bundle read into checked entry requests.
public struct BundleRequest: Sendable {
    public enum Kind: String, Sendable {
        case batch, transaction

        public var responseType: String { rawValue + "-response" }
    }

    public enum Method: String, Sendable {
        case put = "PUT", post = "POST", delete = "DELETE"
    }

    public struct Entry: Sendable {
        public var method: Method
        public var type: ResourceType
        /// The id in the URL for PUT and DELETE; the server-assigned id for POST.
        public var id: String
        public var resource: JSONObject?
    }

    public var kind: Kind
    /// One result per Bundle entry, in order. In a transaction every entry is a success
    /// (otherwise parsing throws); in a batch a bad entry is answered on its own.
    public var entries: [Result<Entry, FHIRError>]

    /// Reads a Bundle body. `newId` gives ids for POST entries. In a transaction, `urn:uuid:`
    /// fullUrls are resolved: references to them become `Type/id` of the created resource.
    public static func parse(_ body: [UInt8], newId: () -> String) throws -> BundleRequest {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw FHIRError.badRequest(.structure, "The body is not valid JSON: \(error)")
        }
        guard case .object(let bundle) = value, bundle["resourceType"]?.stringValue == "Bundle" else {
            throw FHIRError.badRequest(.invalid, "POST to the base URL takes a Bundle of type batch or transaction")
        }
        guard let kind = bundle["type"]?.stringValue.flatMap(Kind.init(rawValue:)) else {
            throw FHIRError.badRequest(.invalid, "Bundle.type must be 'batch' or 'transaction' for POST to the base URL")
        }
        guard bundle["entry"] == nil || bundle["entry"]?.arrayValue != nil else {
            throw FHIRError.badRequest(.structure, "Bundle.entry must be an array")
        }
        let rawEntries = bundle["entry"]?.arrayValue ?? []
        var entries: [Result<Entry, FHIRError>] = []
        var fullUrlTargets: [String: String] = [:]
        for (index, raw) in rawEntries.enumerated() {
            do {
                let entry = try parseEntry(raw, newId: newId)
                if kind == .transaction, let fullUrl = raw["fullUrl"]?.stringValue, fullUrl.hasPrefix("urn:uuid:") {
                    guard fullUrlTargets[fullUrl] == nil else {
                        throw FHIRError.badRequest(.invalid, "fullUrl '\(fullUrl)' is used by more than one entry")
                    }
                    fullUrlTargets[fullUrl] = "\(entry.type)/\(entry.id)"
                }
                entries.append(.success(entry))
            } catch let error as FHIRError {
                let located = FHIRError(status: error.status, code: error.code, "entry[\(index)]: \(error.diagnostics)")
                if kind == .transaction { throw located }
                entries.append(.failure(located))
            }
        }
        if kind == .transaction {
            try checkDistinctTargets(entries)
            if !fullUrlTargets.isEmpty {
                entries = entries.map { result in
                    result.map { entry in
                        var resolved = entry
                        if let resource = entry.resource {
                            resolved.resource = resolveReferences(in: resource, targets: fullUrlTargets)
                        }
                        return resolved
                    }
                }
            }
        }
        return BundleRequest(kind: kind, entries: entries)
    }

    private static func parseEntry(_ raw: JSONValue, newId: () -> String) throws -> Entry {
        guard let request = raw["request"]?.objectValue,
              let methodText = request["method"]?.stringValue,
              let url = request["url"]?.stringValue else {
            throw FHIRError.badRequest(.required, "the entry needs request.method and request.url")
        }
        guard let method = Method(rawValue: methodText) else {
            throw FHIRError.badRequest(.notSupported, "request.method '\(methodText)' is not supported (PUT, POST, DELETE)")
        }
        let path = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard url.count == path.count else {
            throw FHIRError.badRequest(.notSupported, "conditional requests ('\(url)') are not supported")
        }
        // Ignoring a condition would create or change what the client asked to be spared.
        for condition in ["ifNoneExist", "ifMatch", "ifNoneMatch", "ifModifiedSince"] where request[condition] != nil {
            throw FHIRError.badRequest(.notSupported, "conditional requests (request.\(condition)) are not supported")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let typeName = parts.first, !typeName.isEmpty else {
            throw FHIRError.badRequest(.invalid, "request.url '\(url)' names no resource type")
        }
        let type = ResourceType(typeName)
        guard ResourceTypes.isStorable(type) else {
            throw FHIRError.badRequest(.notSupported, "unknown or unsupported resource type '\(type)' in request.url")
        }
        switch method {
        case .post:
            guard parts.count == 1 else {
                throw FHIRError.badRequest(.invalid, "a POST entry's request.url must be a resource type, not '\(url)'")
            }
            var resource = try entryResource(raw)
            try ResourceInput.checkType(resource, type: type)
            resource["id"] = nil
            return Entry(method: .post, type: type, id: newId(), resource: resource)
        case .put:
            guard parts.count == 2 else {
                throw FHIRError.badRequest(.invalid, "a PUT entry's request.url must be Type/id, not '\(url)'")
            }
            try ResourceInput.checkURLId(parts[1])
            let resource = try entryResource(raw)
            try ResourceInput.checkUpdate(resource, type: type, id: parts[1])
            return Entry(method: .put, type: type, id: parts[1], resource: resource)
        case .delete:
            guard parts.count == 2 else {
                throw FHIRError.badRequest(.invalid, "a DELETE entry's request.url must be Type/id, not '\(url)'")
            }
            try ResourceInput.checkURLId(parts[1])
            return Entry(method: .delete, type: type, id: parts[1], resource: nil)
        }
    }

    private static func entryResource(_ raw: JSONValue) throws -> JSONObject {
        guard let resource = raw["resource"] else {
            throw FHIRError.badRequest(.required, "the entry has no resource")
        }
        return try ResourceInput.resourceObject(resource)
    }

    private static func checkDistinctTargets(_ entries: [Result<Entry, FHIRError>]) throws {
        var seen = Set<ResourceKey>()
        for case (let index, .success(let entry)) in entries.enumerated() {
            let key = ResourceKey(type: entry.type, id: entry.id)
            guard seen.insert(key).inserted else {
                throw FHIRError.badRequest(.invalid, "entry[\(index)]: \(key) appears more than once in the transaction")
            }
        }
    }

    /// Rewrites every `reference` that names a resolved fullUrl, at any depth.
    static func resolveReferences(in object: JSONObject, targets: [String: String]) -> JSONObject {
        var result = object
        for (key, value) in object {
            if key == "reference", case .string(let reference) = value, let target = targets[reference] {
                result[key] = .string(target)
            } else {
                let resolved = resolveReferences(in: value, targets: targets)
                if resolved != value { result[key] = resolved }
            }
        }
        return result
    }

    private static func resolveReferences(in value: JSONValue, targets: [String: String]) -> JSONValue {
        switch value {
        case .object(let object): return .object(resolveReferences(in: object, targets: targets))
        case .array(let items): return .array(items.map { resolveReferences(in: $0, targets: targets) })
        default: return value
        }
    }
}
