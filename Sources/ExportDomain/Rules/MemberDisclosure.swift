/// Which Groups' exports would contain a Patient, Coverage or RelatedPerson now: the evidence a
/// provider's REST read of one is decided on (`AccessPolicy`), by the export's own rules —
/// the member counts (`ATRMembership.member`), is not opted out (`ConsentEvaluation`), and the
/// resource is theirs as the export follows it (`MemberLink`, `ext-coverageReference`).
public enum MemberDisclosure {
    /// A patient the resource may belong to, with what decides whether they are exported.
    public struct Patient: Sendable {
        public var key: ResourceKey
        /// All Consents whose `patient` is this patient.
        public var consents: [JSONObject]
        /// Whether the resource points at this patient the way the export follows it (a Coverage
        /// through `MemberLink.coverage`, a RelatedPerson through `MemberLink.relatedPerson`); a
        /// Patient is linked to itself.
        public var linked: Bool

        public init(key: ResourceKey, consents: [JSONObject], linked: Bool) {
            self.key = key
            self.consents = consents
            self.linked = linked
        }
    }

    /// A Group that may list one of the patients, with (at least) the member elements that
    /// mention them.
    public struct ListingGroup: Sendable {
        public var id: String
        public var atrGroup: Bool
        public var members: [JSONObject]

        public init(id: String, atrGroup: Bool, members: [JSONObject]) {
            self.id = id
            self.atrGroup = atrGroup
            self.members = members
        }
    }

    /// The ids of the `groups` whose export at `now` would contain `resource`, in their order.
    public static func exportingGroups(of resource: ResourceKey, patients: [Patient], groups: [ListingGroup],
                                       now: FHIRInstant, baseURL: String) -> [String] {
        var exported: [ResourceKey: Patient] = [:]
        for patient in patients where !ConsentEvaluation.isOptedOut(consents: patient.consents, now: now) {
            exported[patient.key] = patient
        }
        return groups.filter { group in
            group.members.contains { element in
                guard let member = ATRMembership.member(element, atrGroup: group.atrGroup, now: now, baseURL: baseURL),
                      let patient = exported[member.patient] else { return false }
                switch resource.type {
                case "Patient": return member.patient == resource
                case "Coverage": return patient.linked || member.coverageReferences.contains(resource)
                case "RelatedPerson": return patient.linked
                default: return false
                }
            }
        }.map(\.id)
    }
}
