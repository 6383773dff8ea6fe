/// The manifest of a finished export, stored without URLs (they are signed afresh on every
/// status request, so their expiry counts from the poll) and rendered per Bulk Data 2.0.
public struct ExportManifest: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public var type: ResourceType
        public var name: String
        public var count: Int

        public init(type: ResourceType, name: String, count: Int) {
            self.type = type
            self.name = name
            self.count = count
        }
    }

    public var transactionTime: String
    public var request: String
    public var output: [File]
    public var error: [File]
    /// `_since` exports: Bundles of DELETE requests for what left the list or was deleted.
    public var deleted: [File]

    public init(transactionTime: String, request: String, output: [File], error: [File], deleted: [File] = []) {
        self.transactionTime = transactionTime
        self.request = request
        self.output = output
        self.error = error
        self.deleted = deleted
    }

    public var fileNames: [String] { (output + error + deleted).map(\.name) }

    public func storedJSON() -> JSONValue {
        func files(_ list: [File]) -> JSONValue {
            .array(list.map { .object(JSONObject([("type", .string($0.type.rawValue)), ("name", .string($0.name)), ("count", .number(String($0.count)))])) })
        }
        return .object(JSONObject([
            ("transactionTime", .string(transactionTime)), ("request", .string(request)),
            ("output", files(output)), ("error", files(error)), ("deleted", files(deleted)),
        ]))
    }

    public init?(stored: JSONValue) {
        func files(_ value: JSONValue?) -> [File]? {
            guard let items = value?.arrayValue else { return nil }
            var result: [File] = []
            for item in items {
                guard let type = item["type"]?.stringValue, let name = item["name"]?.stringValue,
                      case .number(let count)? = item["count"], let number = Int(count) else { return nil }
                result.append(File(type: ResourceType(rawValue: type), name: name, count: number))
            }
            return result
        }
        guard let transactionTime = stored["transactionTime"]?.stringValue, let request = stored["request"]?.stringValue,
              let output = files(stored["output"]), let error = files(stored["error"]) else { return nil }
        // Manifests stored before `deleted` existed have none.
        let deleted = stored["deleted"] == nil ? [] : files(stored["deleted"])
        guard let deleted else { return nil }
        self.init(transactionTime: transactionTime, request: request, output: output, error: error, deleted: deleted)
    }

    /// The Bulk Data manifest a client receives.
    public func rendered(taskId: String, signer: FileURLSigner, requiresAccessToken: Bool, now: FHIRInstant) -> JSONValue {
        func entries(_ list: [File]) -> JSONValue {
            .array(list.map { file in
                .object(JSONObject([
                    ("type", .string(file.type.rawValue)),
                    ("url", .string(signer.signedURL(taskId: taskId, file: file.name, now: now))),
                    ("count", .number(String(file.count))),
                ]))
            })
        }
        return .object(JSONObject([
            ("transactionTime", .string(transactionTime)),
            ("request", .string(request)),
            ("requiresAccessToken", .bool(requiresAccessToken)),
            ("output", entries(output)),
            ("error", entries(error)),
            ("deleted", entries(deleted)),
        ]))
    }
}
