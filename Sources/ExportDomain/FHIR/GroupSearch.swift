/// `GET {base}/Group?…`: the Group discovery search of the ATR Producer (README "Group
/// search"). Every parameter but `name` and the result parameters may repeat (AND) and takes
/// comma-separated alternatives (OR). Which Groups the client may see is decided elsewhere
/// (`AccessPolicy`); this only says what matches.
public struct GroupSearch: Sendable, Equatable {
    /// `_summary`: whole Groups (`false`, the default), Groups without `member` (`true`), or
    /// only the number of matches (`count`).
    public enum Summary: String, Sendable {
        case none = "false"
        case summary = "true"
        case count
    }

    /// A `managing-entity` value: `Type/id` (or an absolute URL under this server's base), or
    /// an id of any type.
    public struct ManagingEntity: Sendable, Equatable {
        public var type: ResourceType?
        public var id: String

        public init(type: ResourceType?, id: String) {
            self.type = type
            self.id = id
        }
    }

    /// A `characteristic-value` value: `code$value`, both tokens.
    public struct CharacteristicValue: Sendable, Equatable {
        public var code: SearchToken
        public var value: SearchToken

        public init(code: SearchToken, value: SearchToken) {
            self.code = code
            self.value = value
        }
    }

    /// Each criterion list is AND-ed; each inner list holds alternatives (OR).
    public var identifiers: [[SearchToken]] = []
    /// Case-insensitive prefix of `Group.name`.
    public var namePrefix: String?
    public var characteristics: [[SearchToken]] = []
    public var characteristicValues: [[CharacteristicValue]] = []
    public var managingEntities: [[ManagingEntity]] = []
    /// Against the ATR contract period (`ext-contractValidityPeriod`), FHIR date search rules.
    public var periods: [[DateSearchValue]] = []
    public var summary = Summary.none
    /// Groups per page.
    public var count = GroupSearch.defaultCount
    /// Continue after the Group with this id (the `next` link's `_cursor`): pages follow the id order.
    public var after: String?

    public init() {}

    public static let defaultCount = 100
    public static let parameters = ["identifier", "name", "characteristic", "characteristic-value", "managing-entity", "period",
                                    "_summary", "_count", "_cursor"]
    /// Given at most once each.
    static let singleParameters: Set<String> = ["name", "_summary", "_count", "_cursor"]

    public static func parse(_ items: [(name: String, value: String)], baseURL: String) throws(FHIRError) -> GroupSearch {
        var search = GroupSearch()
        var seen = Set<String>()
        for (name, value) in items {
            guard parameters.contains(name) else {
                throw FHIRError.badRequest(.notSupported,
                    "Unknown or unsupported search parameter '\(name)' for Group (supported: \(parameters.joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted || !singleParameters.contains(name) else {
                throw FHIRError.badRequest(.invalid, "\(name) may be given once")
            }
            switch name {
            case "identifier": search.identifiers.append(try alternatives(name, value, token))
            case "name": search.namePrefix = value
            case "characteristic": search.characteristics.append(try alternatives(name, value, token))
            case "characteristic-value": search.characteristicValues.append(try alternatives(name, value, characteristicValue))
            case "managing-entity":
                search.managingEntities.append(try alternatives(name, value) { managingEntity($0, baseURL: baseURL) })
            case "period": search.periods.append(try alternatives(name, value) { DateSearchValue.parse(SearchValueSyntax.unescape($0)) })
            case "_summary":
                guard let summary = Summary(rawValue: value) else {
                    throw FHIRError.badRequest(.notSupported, "_summary '\(value)' is not supported (supported: true, count, false)")
                }
                search.summary = summary
            case "_count": search.count = try SearchPaging.count(value)
            default:
                guard ResourceID.isValid(value) else {
                    throw FHIRError.badRequest(.value, "_cursor '\(value)' is not one this server handed out")
                }
                search.after = value
            }
        }
        return search
    }

    /// `value` split at unescaped commas, each alternative read by `read`; a 400 naming the
    /// parameter and the alternative that could not be read.
    private static func alternatives<T>(_ name: String, _ value: String, _ read: (String) -> T?) throws(FHIRError) -> [T] {
        guard let parts = SearchValueSyntax.split(value, at: ",") else {
            throw FHIRError.badRequest(.value, "\(name): '\(value)' has a '\\' that escapes neither '\\', ',', '|' nor '$'")
        }
        var result: [T] = []
        for part in parts {
            guard let item = read(part) else {
                throw FHIRError.badRequest(.value, "\(name): '\(part)' is not \(syntax[name] ?? "a valid value")")
            }
            result.append(item)
        }
        return result
    }

    private static let syntax = [
        "identifier": "a token ([system|]value, |value or system|)",
        "characteristic": "a token ([system|]code, |code or system|)",
        "characteristic-value": "a composite code$value of two tokens ([system|]code)",
        "managing-entity": "a reference (Type/id, id, or a URL of this server)",
        "period": DateSearchValue.syntax,
    ]

    private static func token(_ text: String) -> SearchToken? {
        SearchToken.parse(text)
    }

    private static func characteristicValue(_ text: String) -> CharacteristicValue? {
        guard let parts = SearchValueSyntax.split(text, at: "$"), parts.count == 2,
              let code = SearchToken.parse(parts[0]), let value = SearchToken.parse(parts[1]) else { return nil }
        return CharacteristicValue(code: code, value: value)
    }

    private static func managingEntity(_ text: String, baseURL: String) -> ManagingEntity? {
        let reference = SearchValueSyntax.unescape(text)
        if !reference.contains("/") {
            return ResourceID.isValid(reference) ? ManagingEntity(type: nil, id: reference) : nil
        }
        return ResourceKey.parse(reference: reference, baseURL: baseURL).map { ManagingEntity(type: $0.type, id: $0.id) }
    }
}
