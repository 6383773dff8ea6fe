import ExportDomain
import Storage

/// The Da Vinci ATR reconciliation operations on `Group/{id}`: `$member-add`, `$member-remove`,
/// `$confirm-attribution-list` (each writes the next Group version by compare-and-swap, so two
/// concurrent calls both land) and `$attribution-status` (one member's attribution data).
extension FHIRService {
    func listOperation(_ request: HTTPRequest, groupId: String, operation: ListOperation, access: Access) throws -> HTTPResponse {
        try allow(request, ["POST"])
        let key = ResourceKey(type: "Group", id: groupId)
        try ResourceInput.checkURLId(groupId)
        let notFound = Self.unknownGroup(groupId)
        access.audit.entities = [.group(groupId)]
        switch operation {
        case .attributionStatus:
            try access.require(.attributionStatus(groupId: groupId), notFound: notFound)
        case .memberAdd, .memberRemove, .confirmAttributionList:
            try access.require(.editList(groupId: groupId), notFound: notFound)
        }
        let input = try ListOperationInput.parse(operation, contentType: request.header("content-type"), body: request.body,
                                                 baseURL: settings.publicBaseURL)
        switch operation {
        case .attributionStatus:
            return try attributionStatus(key, input: input, access: access)
        case .memberAdd:
            let addition = AttributionList.Addition(patient: try memberPatient(input), provider: try attributedProvider(input)!,
                                                    period: input.attributionPeriod)
            access.audit.entities += [.resource(addition.patient), .resource(addition.provider)]
            return try changeList(key, operation: operation) { group in
                (AttributionList.adding(addition, to: group, baseURL: settings.publicBaseURL),
                 "\(addition.patient) is attributed to \(addition.provider) in \(key)")
            }
        case .memberRemove:
            let removal = AttributionList.Removal(patient: try memberPatient(input), provider: try attributedProvider(input),
                                                  coverage: input.coverageReference)
            access.audit.entities += [.resource(removal.patient)] + [removal.provider, removal.coverage].compactMap { $0 }.map(AuditEntity.resource)
            return try changeList(key, operation: operation) { group in
                let (changed, removed) = AttributionList.removing(removal, from: group, baseURL: settings.publicBaseURL)
                guard removed > 0 else {
                    throw FHIRError(status: 422, code: .businessRule,
                                    "\(removal.patient) has no matching attribution in \(key)"
                                        + (removal.provider.map { " to \($0)" } ?? "") + (removal.coverage.map { " with \($0)" } ?? ""))
                }
                let outcome = AttributionList.status(of: group) == .draft ? "marked inactive (draft list)" : "removed"
                return (changed, "\(removed) attribution(s) of \(removal.patient) \(outcome) in \(key)")
            }
        case .confirmAttributionList:
            return try changeList(key, operation: operation, status: 201) { group in
                (AttributionList.confirming(group), "\(key) is final")
            }
        }
    }

    /// Reads the Group, applies `change`, and stores the result as the next version only if
    /// the Group is still at the version read; on a concurrent change it starts again.
    private func changeList(_ key: ResourceKey, operation: ListOperation, status: Int = 200,
                            _ change: (JSONObject) throws -> (JSONObject, String)) throws -> HTTPResponse {
        for _ in 0..<8 {
            guard case .found(let stored) = try database.read(key), case .object(let group) = try JSONParser.parse(stored.json) else {
                throw Self.unknownGroup(key.id)
            }
            if operation == .confirmAttributionList, AttributionList.status(of: group) == .final {
                return .fhir(status, OperationOutcome.single(severity: .information, code: .informational, diagnostics: "\(key) was already final"),
                             headers: versionHeaders(stored))
            }
            try AttributionList.requireEditable(group, id: key.id, operation: operation.rawValue)
            let (changed, message) = try change(group)
            do {
                let (written, _) = try database.writeTransaction {
                    try database.put(changed, as: key, now: environment.now(), expectedVersion: stored.versionId)
                }
                let outcome = OperationOutcome.single(severity: .information, code: .informational,
                                                      diagnostics: "\(message) (version \(written.versionId))")
                return .fhir(status, outcome, headers: versionHeaders(written)
                                 + [HTTPHeader("Content-Location", "\(settings.publicBaseURL)/\(VersionLocation.path(written))")])
            } catch is VersionConflict {
                continue
            }
        }
        throw FHIRError(status: 409, code: .conflict, "\(key) kept changing while \(operation.rawValue) ran; retry")
    }

    /// The member's Patient: by `patientReference`, or the one Patient with the `memberId`
    /// identifier (422 when none or several have it, or the reference names no Patient).
    private func memberPatient(_ input: ListOperationInput) throws -> ResourceKey {
        if let reference = input.patientReference {
            guard case .found = try database.read(reference) else {
                throw FHIRError(status: 422, code: .notFound, "patientReference \(reference) is not known")
            }
            if let memberId = input.memberId {
                guard try resolve(memberId, types: ["Patient"], parameter: "memberId") == reference else {
                    throw FHIRError(status: 422, code: .businessRule, "memberId \(memberId) and patientReference \(reference) name different Patients")
                }
            }
            return reference
        }
        return try resolve(input.memberId!, types: ["Patient"], parameter: "memberId")
    }

    /// The attributed provider: by `providerReference`, or the one Practitioner or Organization
    /// with the `providerNpi` identifier (NPI system when none is given); nil when neither is given.
    private func attributedProvider(_ input: ListOperationInput) throws -> ResourceKey? {
        if let reference = input.providerReference {
            guard case .found = try database.read(reference) else {
                throw FHIRError(status: 422, code: .notFound, "providerReference \(reference) is not known")
            }
            return reference
        }
        guard let npi = input.providerNpi else { return nil }
        let identifier = GivenIdentifier(system: npi.system ?? ATRExtension.npiSystem, value: npi.value)
        return try resolve(identifier, types: ["Practitioner", "Organization"], parameter: "providerNpi")
    }

    private func resolve(_ identifier: GivenIdentifier, types: [ResourceType], parameter: String) throws -> ResourceKey {
        let found = try database.resources(ofTypes: types, identifier: identifier)
        switch found.count {
        case 1:
            return found[0]
        case 0:
            throw FHIRError(status: 422, code: .notFound, "\(parameter) \(identifier) matches no \(types.joined(separator: " or "))")
        default:
            // How many, never which: the ids would map business identifiers to this server's ids.
            throw FHIRError(status: 422, code: .multipleMatches,
                            "\(parameter) \(identifier) is ambiguous: it matches \(found.count) resources")
        }
    }

    /// A Bundle (collection) with the member's Patient, their Coverages and attributed providers,
    /// as the export would give them (redacted alike); 404 for a non-member or an opted-out member.
    private func attributionStatus(_ groupKey: ResourceKey, input: ListOperationInput, access: Access) throws -> HTTPResponse {
        // One answer for an unknown, ambiguous, non-member or opted-out member: none of them says
        // whether a Patient exists.
        let notMember = FHIRError.notFound("No exported member of \(groupKey) matches the given memberId or patientReference")
        let patient: ResourceKey
        do {
            patient = try memberPatient(input)
        } catch let error as FHIRError where error.status == 422 {
            throw notMember
        }
        access.audit.entities.append(.resource(patient))
        guard try exportingGroups(of: patient, among: { $0 == groupKey.id }).contains(groupKey.id) else {
            throw notMember
        }
        guard case .found(let stored) = try database.read(groupKey), let scan = ResourceScan(stored.json) else { throw notMember }
        var coverages = try database.referencing(patient, .coverage)
        var providers: [ResourceKey] = []
        let atrGroup = ATRMembership.isATRGroup(ATRMembership.metaAndExtensions(scan, stored.json))
        if let members = scan.value("member") {
            _ = ResourceScan.forEachElement(in: stored.json, array: members) { range in
                guard case .object(let element)? = try? JSONParser.parse(Array(stored.json[range])),
                      let member = ATRMembership.member(element, atrGroup: atrGroup, now: environment.now(), baseURL: settings.publicBaseURL),
                      member.patient == patient else { return }
                coverages += member.coverageReferences.filter { !coverages.contains($0) }
                providers += member.attributedProviders.filter { !providers.contains($0) }
            }
        }
        let redactor = settings.atrRedactor()
        var entries: [JSONValue] = []
        for key in [patient] + coverages + providers {
            guard case .found(let resource) = try database.read(key) else { continue }
            let json = try redactor.redact(type: key.type, json: resource.json) ?? resource.json
            entries.append(["fullUrl": .string("\(settings.publicBaseURL)/\(key)"), "resource": try JSONParser.parse(json)])
        }
        return .fhir(200, .object(JSONObject([
            ("resourceType", "Bundle"), ("type", "collection"), ("timestamp", .string(environment.now().description)),
            ("entry", .array(entries)),
        ])))
    }
}
