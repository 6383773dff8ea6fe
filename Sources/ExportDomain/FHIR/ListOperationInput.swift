/// The ATR list operations on `Group/{id}`, all POST with a `Parameters` body.
public enum ListOperation: String, Sendable, CaseIterable {
    case memberAdd = "$member-add"
    case memberRemove = "$member-remove"
    case confirmAttributionList = "$confirm-attribution-list"
    case attributionStatus = "$attribution-status"

    /// The parameters the IG's OperationDefinition declares for it.
    var parameters: [String] {
        switch self {
        case .memberAdd: ["memberId", "providerNpi", "patientReference", "providerReference", "attributionPeriod"]
        case .memberRemove: ["memberId", "providerNpi", "patientReference", "providerReference", "coverageReference"]
        case .confirmAttributionList: []
        case .attributionStatus: ["memberId", "patientReference"]
        }
    }
}

/// A business identifier as given in `memberId` or `providerNpi`.
public struct GivenIdentifier: Sendable, Equatable, CustomStringConvertible {
    public var system: String?
    public var value: String

    public init(system: String?, value: String) {
        self.system = system
        self.value = value
    }

    public var description: String { system.map { "\($0)|\(value)" } ?? value }
}

/// The parameters of one list operation, checked against the IG's OperationDefinition: each
/// declared at most once with its declared type, the member named by `memberId` or
/// `patientReference` (for `$attribution-status` both may be given and must agree, which the
/// handler checks once they are resolved), the provider by `providerNpi` or `providerReference`
/// (required to add, optional to remove).
public struct ListOperationInput: Sendable, Equatable {
    public var memberId: GivenIdentifier?
    public var providerNpi: GivenIdentifier?
    public var patientReference: ResourceKey?
    public var providerReference: ResourceKey?
    public var coverageReference: ResourceKey?
    public var attributionPeriod: JSONValue?

    public init() {}

    public static func parse(_ operation: ListOperation, contentType: String?, body: [UInt8], baseURL: String) throws -> ListOperationInput {
        var input = ListOperationInput()
        var seen = Set<String>()
        for parameter in try ExportKickoff.bodyParameters(contentType: contentType, body: body) {
            let name = parameter.name
            guard operation.parameters.contains(name) else {
                let known = operation.parameters.isEmpty ? "it takes no parameters" : "its parameters are " + operation.parameters.joined(separator: ", ")
                throw FHIRError.badRequest(.notSupported, "\(operation.rawValue) has no parameter '\(name)' (\(known))")
            }
            guard seen.insert(name).inserted else { throw FHIRError.badRequest(.invalid, "\(name) may be given once") }
            guard case .body(let entry) = parameter.source else { continue }
            switch name {
            case "memberId": input.memberId = try identifier(entry, name)
            case "providerNpi": input.providerNpi = try identifier(entry, name)
            case "patientReference": input.patientReference = try reference(entry, name, types: ["Patient"], baseURL: baseURL)
            case "providerReference":
                input.providerReference = try reference(entry, name, types: ["Practitioner", "PractitionerRole", "Organization"], baseURL: baseURL)
            case "coverageReference": input.coverageReference = try reference(entry, name, types: ["Coverage"], baseURL: baseURL)
            default:
                guard case .object(let period)? = entry["valuePeriod"], PeriodRule.covers(.object(period), now: FHIRInstant(millisecondsSinceEpoch: 0)) != nil else {
                    throw FHIRError.badRequest(.value, "attributionPeriod must be a valuePeriod with valid start/end dateTimes")
                }
                input.attributionPeriod = .object(period)
            }
        }
        try input.checkCombination(operation)
        return input
    }

    private func checkCombination(_ operation: ListOperation) throws {
        let patientGiven = (memberId != nil ? 1 : 0) + (patientReference != nil ? 1 : 0)
        let providerGiven = (providerNpi != nil ? 1 : 0) + (providerReference != nil ? 1 : 0)
        switch operation {
        case .confirmAttributionList:
            return
        case .attributionStatus:
            guard patientGiven >= 1 else { throw FHIRError.badRequest(.required, "\(operation.rawValue) needs memberId or patientReference") }
        case .memberAdd, .memberRemove:
            guard patientGiven == 1 else {
                throw FHIRError.badRequest(patientGiven == 0 ? .required : .invalid,
                                           "\(operation.rawValue) needs exactly one of memberId and patientReference")
            }
            guard providerGiven <= 1 else {
                throw FHIRError.badRequest(.invalid, "\(operation.rawValue) takes at most one of providerNpi and providerReference")
            }
            if operation == .memberAdd && providerGiven == 0 {
                throw FHIRError.badRequest(.required, "$member-add needs the attributed provider: providerNpi or providerReference")
            }
        }
    }

    private static func identifier(_ entry: JSONObject, _ name: String) throws -> GivenIdentifier {
        guard case .object(let identifier)? = entry["valueIdentifier"], let value = identifier["value"]?.stringValue, !value.isEmpty else {
            throw FHIRError.badRequest(.value, "\(name) must be a valueIdentifier with a value")
        }
        let system = identifier["system"]?.stringValue
        return GivenIdentifier(system: system?.isEmpty == true ? nil : system, value: value)
    }

    private static func reference(_ entry: JSONObject, _ name: String, types: [ResourceType], baseURL: String) throws -> ResourceKey {
        guard let text = entry["valueReference"]?["reference"]?.stringValue,
              let key = ResourceKey.parse(reference: text, baseURL: baseURL), types.contains(key.type) else {
            throw FHIRError.badRequest(.value, "\(name) must be a valueReference to a \(types.joined(separator: ", ")) on this server")
        }
        return key
    }
}
