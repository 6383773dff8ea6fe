import ExportDomain
import FuzzSupport

/// A resource body as PUT or POST sends it, then what storing it does: stamping, and indexing its
/// references and search values.
@main enum FuzzResource {
    static func main() {
        FuzzDriver.run { input in
            guard var resource = try? ResourceInput.parseResource(input.bytes) else { return }
            let type = ResourceType(resource["resourceType"]?.stringValue ?? "")
            require((try? ResourceInput.checkType(resource, type: type)) != nil, "accepted, then refused its own type")
            if let id = resource["id"]?.stringValue {
                require((try? ResourceInput.checkUpdate(resource, type: type, id: id)) != nil, "refused a PUT to its own id")
            }
            ResourceInput.stamp(&resource, id: "stamped", versionId: 2, lastUpdated: FuzzFixtures.now)
            let restamped = try? ResourceInput.resourceObject(.object(resource))
            require(restamped?["id"] == .string("stamped"), "stamping made the resource invalid")
            _ = ReferenceIndexing.references(in: resource, baseURL: FuzzFixtures.baseURL)
            _ = ReferenceIndexing.searchValues(in: resource)
            _ = ReferenceIndexing.identifierValues(in: resource)
            _ = ExportReferences.additionalReferences(of: resource, baseURL: FuzzFixtures.baseURL)
            if type == "Group" {
                _ = GroupSearchIndexing.searchValues(in: resource)
                _ = AttributionList.status(of: resource)
            }
        }
    }
}
