/// The name a reference is indexed under: the FHIR element (or ATR extension) it comes from.
/// Shared by the indexing rules (what is written on every store) and the export's reads (what
/// is looked up), so the two cannot drift apart. Stored as the raw value; changing the set of
/// indexed paths needs `atrctl reindex`.
public enum ReferencePath: String, Sendable, CaseIterable {
    case managingEntity, member, coverageReference, attributedProvider
    case beneficiary, subscriber, policyHolder, payor
    case patient
    case practitioner, organization, location
    case generalPractitioner, managingOrganization
}

/// Resources of `type` that point at a member's Patient through one of `paths`: the way an
/// export finds what belongs to a member without scanning.
public struct MemberLink: Sendable, Equatable {
    public var type: ResourceType
    public var paths: [ReferencePath]

    /// Coverages in the member's Patient compartment (the member is beneficiary, subscriber,
    /// policy holder or payor).
    public static let coverage = MemberLink(type: "Coverage", paths: [.beneficiary, .subscriber, .policyHolder, .payor])
    /// RelatedPersons whose `patient` is the member.
    public static let relatedPerson = MemberLink(type: "RelatedPerson", paths: [.patient])
    /// Consents whose `patient` is the member (opt-outs).
    public static let consent = MemberLink(type: "Consent", paths: [.patient])
    /// Groups that list the Patient as a member (`Group.member.entity`).
    public static let listingGroup = MemberLink(type: "Group", paths: [.member])
    /// Groups whose members name the Coverage in `ext-coverageReference`.
    public static let coverageListingGroup = MemberLink(type: "Group", paths: [.coverageReference])
}
