/// The root elements the FHIR R4 base definition of each resource type marks mandatory
/// (min ≥ 1), such as `Coverage.status`, `beneficiary`, `payor` or `Group.type`, `actual`.
/// Bulk Data `_elements` keeps them, so a subsetted resource still has what every reader of
/// that type expects (the spec's SHOULD). The table is generated at development time
/// (`R4MandatoryElements+Generated.swift`, see `scripts/generate-r4-mandatory-elements.py`).
public enum R4MandatoryElements {
    /// Mandatory root elements by resource type, under their JSON names (a choice element under
    /// each of its typed names); a type without any is absent.
    public static let byType: [ResourceType: Set<String>] = {
        var table: [ResourceType: Set<String>] = [:]
        for line in data.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard let type = fields.first else { continue }
            table[ResourceType(rawValue: type)] = Set(fields.dropFirst())
        }
        return table
    }()

    public static func elements(of type: ResourceType) -> Set<String> {
        byType[type] ?? []
    }
}
