/// The resource types of FHIR R4 (4.0.1).
public enum ResourceTypes {
    public static let all: Set<String> = [
        "Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment",
        "AppointmentResponse", "AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct",
        "BodyStructure", "Bundle", "CapabilityStatement", "CarePlan", "CareTeam", "CatalogEntry",
        "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse", "ClinicalImpression",
        "CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition",
        "Composition", "ConceptMap", "Condition", "Consent", "Contract", "Coverage",
        "CoverageEligibilityRequest", "CoverageEligibilityResponse", "DetectedIssue", "Device",
        "DeviceDefinition", "DeviceMetric", "DeviceRequest", "DeviceUseStatement",
        "DiagnosticReport", "DocumentManifest", "DocumentReference", "EffectEvidenceSynthesis",
        "Encounter", "Endpoint", "EnrollmentRequest", "EnrollmentResponse", "EpisodeOfCare",
        "EventDefinition", "Evidence", "EvidenceVariable", "ExampleScenario",
        "ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal", "GraphDefinition", "Group",
        "GuidanceResponse", "HealthcareService", "ImagingStudy", "Immunization",
        "ImmunizationEvaluation", "ImmunizationRecommendation", "ImplementationGuide",
        "InsurancePlan", "Invoice", "Library", "Linkage", "List", "Location", "Measure",
        "MeasureReport", "Media", "Medication", "MedicationAdministration", "MedicationDispense",
        "MedicationKnowledge", "MedicationRequest", "MedicationStatement", "MedicinalProduct",
        "MedicinalProductAuthorization", "MedicinalProductContraindication",
        "MedicinalProductIndication", "MedicinalProductIngredient", "MedicinalProductInteraction",
        "MedicinalProductManufactured", "MedicinalProductPackaged", "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect", "MessageDefinition", "MessageHeader",
        "MolecularSequence", "NamingSystem", "NutritionOrder", "Observation",
        "ObservationDefinition", "OperationDefinition", "OperationOutcome", "Organization",
        "OrganizationAffiliation", "Parameters", "Patient", "PaymentNotice",
        "PaymentReconciliation", "Person", "PlanDefinition", "Practitioner", "PractitionerRole",
        "Procedure", "Provenance", "Questionnaire", "QuestionnaireResponse", "RelatedPerson",
        "RequestGroup", "ResearchDefinition", "ResearchElementDefinition", "ResearchStudy",
        "ResearchSubject", "RiskAssessment", "RiskEvidenceSynthesis", "Schedule", "SearchParameter",
        "ServiceRequest", "Slot", "Specimen", "SpecimenDefinition", "StructureDefinition",
        "StructureMap", "Subscription", "Substance", "SubstanceNucleicAcid", "SubstancePolymer",
        "SubstanceProtein", "SubstanceReferenceInformation", "SubstanceSourceMaterial",
        "SubstanceSpecification", "SupplyDelivery", "SupplyRequest", "Task",
        "TerminologyCapabilities", "TestReport", "TestScript", "ValueSet", "VerificationResult",
        "VisionPrescription",
    ]

    /// Types that describe an interaction rather than data; they cannot be stored.
    /// AuditEvents are the server's own append-only audit trail (`GET {base}/AuditEvent`), never data.
    public static let notStorable: Set<String> = ["Bundle", "Parameters", "OperationOutcome", "AuditEvent"]

    public static func isStorable(_ type: ResourceType) -> Bool {
        all.contains(type.rawValue) && !notStorable.contains(type.rawValue)
    }
}

public enum ResourceID {
    /// FHIR R4 id syntax: `[A-Za-z0-9\-\.]{1,64}`.
    public static func isValid(_ id: String) -> Bool {
        let bytes = id.utf8
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x2E
        }
    }
}

/// A FHIR resource type name (`Patient`, `Coverage`, …) as a value of its own, so a type is
/// never confused with an id, a path or free text. Any name can be held (requests name
/// unknown ones and get a 400 that names them); `isKnown` says whether R4 defines it.
public struct ResourceType: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(_ name: some StringProtocol) {
        rawValue = String(name)
    }

    public init(stringLiteral value: String) {
        rawValue = value
    }

    public var description: String { rawValue }

    public static func < (lhs: ResourceType, rhs: ResourceType) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Defined by FHIR R4.
    public var isKnown: Bool { ResourceTypes.all.contains(rawValue) }
}

extension Array where Element == ResourceType {
    /// The names joined for messages: `Group, Patient, Coverage`.
    public func joined(separator: String) -> String {
        map(\.rawValue).joined(separator: separator)
    }
}
