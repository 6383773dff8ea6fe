/// The `Prefer` request header (RFC 7240): `respond-async`, `handling=lenient|strict`, `return=…`.
public struct PreferHeader: Sendable, Equatable {
    public var tokens: [String: String]

    public init(_ header: String?) {
        var tokens: [String: String] = [:]
        for part in (header ?? "").split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard let name = pair.first?.trimmingCharacters(in: " \t").lowercased(), !name.isEmpty else { continue }
            let value = pair.count > 1 ? pair[1].trimmingCharacters(in: " \t\"").lowercased() : ""
            tokens[name] = value
        }
        self.tokens = tokens
    }

    public var respondAsync: Bool { tokens["respond-async"] != nil }
    public var lenient: Bool { tokens["handling"] == "lenient" }
    public var returnPreference: String? { tokens["return"] }
}
