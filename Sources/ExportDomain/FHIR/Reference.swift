/// A literal reference to a resource on this server (`Type/id`).
public struct ResourceKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var type: ResourceType
    public var id: String

    public init(type: ResourceType, id: String) {
        self.type = type
        self.id = id
    }

    public var description: String { "\(type)/\(id)" }

    public static func < (lhs: ResourceKey, rhs: ResourceKey) -> Bool {
        (lhs.type, lhs.id) < (rhs.type, rhs.id)
    }

    /// Reads `Type/id`, `Type/id/_history/v`, or an absolute URL under `baseURL`.
    /// Anything else (contained `#x`, `urn:`, other servers, logical identifiers) is not local.
    public static func parse(reference: String, baseURL: String) -> ResourceKey? {
        var text = Substring(reference)
        // `Type/id` or `Type/id/_history/version`; found by index and compared as bytes, as this
        // runs for every reference an export follows (the base URL and the names are ASCII, so
        // the outcome is that of comparing characters).
        let slash = UInt8(ascii: "/")
        if text.utf8.starts(with: "http://".utf8) || text.utf8.starts(with: "https://".utf8) {
            guard text.utf8.starts(with: baseURL.utf8) else { return nil }
            var rest = text.utf8.dropFirst(baseURL.utf8.count)
            if baseURL.utf8.last != slash {
                guard rest.first == slash else { return nil }
                rest = rest.dropFirst()
            }
            text = text[rest.startIndex...]
        }
        guard let afterType = text.utf8.firstIndex(of: slash) else { return nil }
        let type = String(text[..<afterType])
        let rest = text[text.utf8.index(after: afterType)...]
        var id = rest
        if let afterId = rest.utf8.firstIndex(of: slash) {
            id = rest[..<afterId]
            let history = rest[rest.utf8.index(after: afterId)...]
            guard let afterHistory = history.utf8.firstIndex(of: slash), history[..<afterHistory] == "_history",
                  !history[history.utf8.index(after: afterHistory)...].utf8.contains(slash) else { return nil }
        }
        let idText = String(id)
        let resourceType = ResourceType(type)
        guard resourceType.isKnown, ResourceID.isValid(idText) else { return nil }
        return ResourceKey(type: resourceType, id: idText)
    }
}

public enum ATRExtension {
    public static let coverageReference = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-coverageReference"
    public static let attributedProvider = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-attributedProvider"
    public static let atrGroupProfile = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/atr-group"
    public static let attributionListStatus = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-attributionListStatus"
    public static let changeType = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-changeType"
    public static let npiSystem = "http://hl7.org/fhir/sid/us-npi"
    public static let providerAccessUseCase =
        "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-provider-access-use-case"
}
