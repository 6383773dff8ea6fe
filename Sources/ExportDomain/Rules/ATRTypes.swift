/// The resource types of the ATR export, listed once. `all` is also the fixed order of the
/// manifest's output files.
public enum ATRTypes {
    /// What every `$davinci-data-export` contains (the ATR IG's SHALL).
    public static let required: [ResourceType] = ["Group", "Patient", "Coverage"]
    /// Exported only when reached by following references from exported resources.
    public static let referenced: [ResourceType] = ["Practitioner", "PractitionerRole", "Organization", "Location"]
    public static let all = required + ["RelatedPerson"] + referenced
    /// A member's own resources (what `_since` lists as deleted when they are).
    public static let memberOwned: [ResourceType] = ["Patient", "Coverage", "RelatedPerson"]
    /// `$davinci-data-export` also reads Consents (opt-outs), so its token must read these.
    public static let readByEveryExport = required + ["Consent"]
    /// Served through the REST API and announced in the CapabilityStatement.
    public static let served = all + ["Consent"]
    /// What a token's type-specific scopes may name: the served types and the audit trail.
    /// A scope for any other type is never granted (nothing of it is ever served).
    public static let grantable: Set<ResourceType> = Set(served + ["AuditEvent"])
}
