import ExportDomain
import Storage

/// Gathers what `MemberDisclosure` decides on for one Patient, Coverage or RelatedPerson: the
/// patients it belongs to with their Consents, and the member elements of the Groups listing
/// them — read through the reference index, parsing only the member elements that mention
/// one of those patients (an ATR list can hold 100k members).
extension FHIRService {
    /// The Groups among those `considered` whose export would contain `key` now (the others are
    /// never read or parsed).
    func exportingGroups(of key: ResourceKey, among considered: (String) -> Bool) throws -> [String] {
        var patients: [ResourceKey: Bool] = [:]
        switch key.type {
        case "Patient":
            patients[key] = true
        case "Coverage":
            for patient in try database.referenced(from: key, paths: MemberLink.coverage.paths, targetType: "Patient") {
                patients[patient] = true
            }
        case "RelatedPerson":
            for patient in try database.referenced(from: key, paths: MemberLink.relatedPerson.paths, targetType: "Patient") {
                patients[patient] = true
            }
        default:
            return []
        }
        var groupIds = Set<String>()
        for patient in patients.keys {
            groupIds.formUnion(try database.referencing(patient, .listingGroup).map(\.id))
        }
        if key.type == "Coverage" {
            groupIds.formUnion(try database.referencing(key, .coverageListingGroup).map(\.id))
        }
        let reachable = groupIds.sorted().filter(considered)
        var needles = patients.keys.map { Array("Patient/\($0.id)".utf8) }
        if key.type == "Coverage" { needles.append(Array("Coverage/\(key.id)".utf8)) }
        var groups: [MemberDisclosure.ListingGroup] = []
        for id in reachable {
            guard case .found(let stored) = try database.read(ResourceKey(type: "Group", id: id)),
                  let group = Self.listingGroup(id: id, json: stored.json, needles: needles) else { continue }
            groups.append(group)
            // A Coverage's patients include the members whose coverageReference names it.
            if key.type == "Coverage" {
                for element in group.members {
                    if let member = ATRMembership.member(element, atrGroup: true, now: environment.now(), baseURL: settings.publicBaseURL),
                       member.coverageReferences.contains(key), patients[member.patient] == nil {
                        patients[member.patient] = false
                    }
                }
            }
        }
        let facts = try patients.sorted { $0.key < $1.key }.map { patient, linked in
            MemberDisclosure.Patient(key: patient, consents: try consents(of: patient), linked: linked)
        }
        return MemberDisclosure.exportingGroups(of: key, patients: facts, groups: groups, now: environment.now(),
                                                baseURL: settings.publicBaseURL)
    }

    /// All Consents whose `patient` is `patient` (what the opt-out rule reads).
    func consents(of patient: ResourceKey) throws -> [JSONObject] {
        try database.referencing(patient, .consent).compactMap { key in
            guard case .found(let stored) = try database.read(key), case .object(let consent) = try JSONParser.parse(stored.json) else {
                return nil
            }
            return consent
        }
    }

    /// The Group's profile flag and the member elements whose bytes contain one of `needles`.
    private static func listingGroup(id: String, json: [UInt8], needles: [[UInt8]]) -> MemberDisclosure.ListingGroup? {
        guard let scan = ResourceScan(json) else { return nil }
        let atrGroup = ATRMembership.isATRGroup(ATRMembership.metaAndExtensions(scan, json))
        var members: [JSONObject] = []
        if let array = scan.value("member") {
            _ = ResourceScan.forEachElement(in: json, array: array) { range in
                let bytes = json[range]
                guard needles.contains(where: { bytes.containsSequence($0) }),
                      case .object(let element)? = try? JSONParser.parse(Array(bytes)) else { return }
                members.append(element)
            }
        }
        return MemberDisclosure.ListingGroup(id: id, atrGroup: atrGroup, members: members)
    }
}

extension ArraySlice where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= count else { return needle.isEmpty }
        var index = startIndex
        let last = endIndex - needle.count
        while index <= last {
            if self[index] == first && self[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}
