import ExportDomain
import Storage

/// What a provider receives when it reads a resource over REST: what an export would write —
/// redacted (`ResourceRedactionOptions`), and a Group without its opted-out members (tagged
/// SUBSETTED), so that reading a list and then its members never tells who opted out. Admins
/// (and SMART off) get resources as stored.
extension FHIRService {
    func disclosed(_ key: ResourceKey, json: [UInt8], access: Access) throws -> [UInt8] {
        guard access.principal?.role == .provider else { return json }
        var bytes = json
        if key.type == "Group", case .object(let group) = try JSONParser.parse(json) {
            let optedOut = try optedOutMembers(of: group)
            if !optedOut.isEmpty {
                bytes = JSONValue.object(Subsetting.withoutOptedOut(group, optedOut: optedOut, baseURL: settings.publicBaseURL)).serialized()
            }
        }
        return try settings.atrRedactor().redact(type: key.type, json: bytes) ?? bytes
    }

    /// The ids of the listed Patients who are opted out now.
    private func optedOutMembers(of group: JSONObject) throws -> Set<String> {
        var optedOut = Set<String>()
        var checked = Set<String>()
        let now = environment.now()
        for element in group["member"]?.arrayValue ?? [] {
            guard let text = element["entity"]?["reference"]?.stringValue,
                  let patient = ResourceKey.parse(reference: text, baseURL: settings.publicBaseURL), patient.type == "Patient",
                  checked.insert(patient.id).inserted else { continue }
            if ConsentEvaluation.isOptedOut(consents: try consents(of: patient), now: now) { optedOut.insert(patient.id) }
        }
        return optedOut
    }
}
