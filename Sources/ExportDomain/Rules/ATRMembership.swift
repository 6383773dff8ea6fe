/// One exported `Group.member`: the Patient and the ATR details the export follows.
public struct GroupMember: Sendable, Equatable {
    /// The member's Patient (`Group.member.entity`).
    public var patient: ResourceKey
    /// Local `Coverage` references from `ext-coverageReference`, in order, without duplicates.
    public var coverageReferences: [ResourceKey]
    /// Local Practitioner / PractitionerRole / Organization / Location references from
    /// `ext-attributedProvider`, in order, without duplicates.
    public var attributedProviders: [ResourceKey]

    public init(patient: ResourceKey, coverageReferences: [ResourceKey] = [], attributedProviders: [ResourceKey] = []) {
        self.patient = patient
        self.coverageReferences = coverageReferences
        self.attributedProviders = attributedProviders
    }
}

/// Which members of a Group an export covers (README "Decisions a user could trip over", Export, "Members").
public enum ATRMembership {
    /// Whether `group` is an ATR list: it claims the ATR Group profile in `meta.profile` (also
    /// as `profile|version`), or it carries `ext-attributionListStatus` (Da Vinci instances often
    /// declare no profile). Only `meta` and `extension` are read, so callers scanning a big Group
    /// may pass just those two.
    public static func isATRGroup(_ group: JSONObject) -> Bool {
        if AttributionList.status(of: group) != nil { return true }
        guard let profiles = group["meta"]?["profile"]?.arrayValue else { return false }
        let profile = ATRExtension.atrGroupProfile
        return profiles.contains { value in
            guard let text = value.stringValue else { return false }
            return text == profile || text.hasPrefix(profile + "|")
        }
    }

    /// A scanned Group's `meta` and `extension`, parsed without its members: what `isATRGroup`
    /// reads, without parsing a list of 100k members.
    public static func metaAndExtensions<Bytes: ByteSource>(_ scan: ResourceScan, _ group: Bytes) -> JSONObject {
        var head = JSONObject()
        for key in ["meta", "extension"] {
            if let value = scan.value(key).flatMap({ try? JSONParser.parse(group.bytes($0)) }) { head[key] = value }
        }
        return head
    }

    /// Reads one `Group.member` element.
    ///
    /// - Returns `nil` when `entity` is not a local `Patient` reference.
    /// - For an ATR Group every member counts, `inactive` ones and ones outside their
    ///   `period` too (as Firely does).
    /// - For any other Group, only a member whose `inactive` is not `true` and whose `period`
    ///   covers `now` (a malformed period counts as not covering).
    public static func member(_ member: JSONObject, atrGroup: Bool, now: FHIRInstant, baseURL: String) -> GroupMember? {
        guard let patient = ReferenceReader.key(of: member["entity"], baseURL: baseURL),
              patient.type == "Patient" else { return nil }
        if !atrGroup {
            if member["inactive"]?.boolValue == true { return nil }
            guard PeriodRule.covers(member["period"], now: now) == true else { return nil }
        }
        var coverages: [ResourceKey] = []
        var providers: [ResourceKey] = []
        for ext in member["extension"]?.arrayValue ?? [] {
            guard let url = ext["url"]?.stringValue,
                  let key = ReferenceReader.key(of: ext["valueReference"], baseURL: baseURL) else { continue }
            switch url {
            case ATRExtension.coverageReference where key.type == "Coverage":
                if !coverages.contains(key) { coverages.append(key) }
            case ATRExtension.attributedProvider where ExportReferences.targetTypes.contains(key.type):
                if !providers.contains(key) { providers.append(key) }
            default:
                break
            }
        }
        return GroupMember(patient: patient, coverageReferences: coverages, attributedProviders: providers)
    }
}
