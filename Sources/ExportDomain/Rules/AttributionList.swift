/// The Da Vinci ATR list life cycle (`ext-attributionListStatus` draft → open → final) and the
/// changes `$member-add`, `$member-remove` and `$confirm-attribution-list` make to a Group. Pure:
/// the handler resolves identifiers to resources and stores the result as the next version.
public enum AttributionList {
    public enum Status: String, Sendable, CaseIterable {
        case draft, open, final
    }

    /// `ext-changeType` codes (http://hl7.org/fhir/us/davinci-atr/CodeSystem/atr-changetype).
    public enum ChangeType: String, Sendable {
        case new, dropped, changed, nochange
    }

    /// The list's status, or nil when the Group carries no (readable) `ext-attributionListStatus`.
    public static func status(of group: JSONObject) -> Status? {
        for ext in group["extension"]?.arrayValue ?? [] where ext["url"]?.stringValue == ATRExtension.attributionListStatus {
            return ext["valueCode"]?.stringValue.flatMap(Status.init(rawValue:))
        }
        return nil
    }

    /// Only `draft` and `open` lists change through the reconciliation operations (422 otherwise).
    public static func requireEditable(_ group: JSONObject, id: String, operation: String) throws(FHIRError) {
        switch status(of: group) {
        case .draft?, .open?:
            return
        case .final?:
            throw FHIRError(status: 422, code: .businessRule,
                            "Group/\(id) is final: \(operation) is allowed only while the attribution list is draft or open")
        case nil:
            throw FHIRError(status: 422, code: .businessRule,
                            "Group/\(id) has no ext-attributionListStatus: \(operation) is allowed only on draft or open attribution lists")
        }
    }

    /// One attribution to add: the member, the attributed provider, the period.
    public struct Addition: Sendable, Equatable {
        public var patient: ResourceKey
        public var provider: ResourceKey
        public var period: JSONValue?

        public init(patient: ResourceKey, provider: ResourceKey, period: JSONValue?) {
            self.patient = patient
            self.provider = provider
            self.period = period
        }
    }

    /// Which attributions to remove: the member's, narrowed to one provider and one Coverage.
    public struct Removal: Sendable, Equatable {
        public var patient: ResourceKey
        public var provider: ResourceKey?
        public var coverage: ResourceKey?

        public init(patient: ResourceKey, provider: ResourceKey?, coverage: ResourceKey?) {
            self.patient = patient
            self.provider = provider
            self.coverage = coverage
        }
    }

    /// The Group with the attribution added. An attribution of the same member to the same
    /// provider is updated in place (made active again, its period replaced when one is given)
    /// and marked `changed`; otherwise a new member element marked `new` is appended.
    public static func adding(_ addition: Addition, to group: JSONObject, baseURL: String) -> JSONObject {
        var members = group["member"]?.arrayValue ?? []
        if let index = members.firstIndex(where: { matches($0, patient: addition.patient, provider: addition.provider, coverage: nil, baseURL: baseURL) }),
           case .object(var element) = members[index] {
            element["inactive"] = nil
            if let period = addition.period { element["period"] = period }
            setChangeType(.changed, on: &element)
            members[index] = .object(element)
        } else {
            var element = JSONObject()
            element["extension"] = [
                ["url": .string(ATRExtension.changeType), "valueCode": .string(ChangeType.new.rawValue)],
                ["url": .string(ATRExtension.attributedProvider), "valueReference": ["reference": .string(addition.provider.description)]],
            ]
            element["entity"] = ["reference": .string(addition.patient.description)]
            if let period = addition.period { element["period"] = period }
            members.append(.object(element))
        }
        var result = group
        result["member"] = .array(members)
        return result
    }

    /// The Group without the matching attributions, and how many matched. In a `draft` list they
    /// stay listed, `inactive` and marked `dropped` (the IG: a draft list still includes them);
    /// in an `open` list they are removed.
    public static func removing(_ removal: Removal, from group: JSONObject, baseURL: String) -> (JSONObject, removed: Int) {
        let draft = status(of: group) == .draft
        var removed = 0
        var members: [JSONValue] = []
        for value in group["member"]?.arrayValue ?? [] {
            guard matches(value, patient: removal.patient, provider: removal.provider, coverage: removal.coverage, baseURL: baseURL),
                  case .object(var element) = value else {
                members.append(value)
                continue
            }
            removed += 1
            if draft {
                element["inactive"] = true
                setChangeType(.dropped, on: &element)
                members.append(.object(element))
            }
        }
        var result = group
        if members.isEmpty { result["member"] = nil } else { result["member"] = .array(members) }
        return (result, removed)
    }

    /// `$confirm-attribution-list`: the list becomes `final`, and its inactive members are
    /// dropped (the IG: once final, the Producer SHOULD retain only the active members).
    public static func confirming(_ group: JSONObject) -> JSONObject {
        var result = group
        var extensions = (group["extension"]?.arrayValue ?? []).filter { $0["url"]?.stringValue != ATRExtension.attributionListStatus }
        extensions.append(["url": .string(ATRExtension.attributionListStatus), "valueCode": .string(Status.final.rawValue)])
        result["extension"] = .array(extensions)
        let active = (group["member"]?.arrayValue ?? []).filter { $0["inactive"]?.boolValue != true }
        result["member"] = active.isEmpty ? nil : .array(active)
        return result
    }

    private static func matches(_ element: JSONValue, patient: ResourceKey, provider: ResourceKey?, coverage: ResourceKey?,
                                baseURL: String) -> Bool {
        guard case .object(let object) = element,
              let member = ATRMembership.member(object, atrGroup: true, now: FHIRInstant(millisecondsSinceEpoch: 0), baseURL: baseURL),
              member.patient == patient else { return false }
        if let provider, !member.attributedProviders.contains(provider) { return false }
        if let coverage, !member.coverageReferences.contains(coverage) { return false }
        return true
    }

    private static func setChangeType(_ change: ChangeType, on element: inout JSONObject) {
        var extensions = (element["extension"]?.arrayValue ?? []).filter { $0["url"]?.stringValue != ATRExtension.changeType }
        extensions.insert(["url": .string(ATRExtension.changeType), "valueCode": .string(change.rawValue)], at: 0)
        element["extension"] = .array(extensions)
    }
}
