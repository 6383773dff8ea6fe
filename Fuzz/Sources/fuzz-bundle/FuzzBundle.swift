import ExportDomain
import FuzzSupport

/// A batch or transaction Bundle posted to the base URL.
@main enum FuzzBundle {
    static func main() {
        FuzzDriver.run { input in
            var assigned = 0
            guard let bundle = try? BundleRequest.parse(input.bytes, newId: { assigned += 1; return "new\(assigned)" })
            else { return }
            for case .success(let entry) in bundle.entries {
                require(ResourceTypes.isStorable(entry.type), "an entry of type \(entry.type)")
                require(ResourceID.isValid(entry.id), "an entry with id \(entry.id)")
                if let resource = entry.resource {
                    require(resource["resourceType"]?.stringValue == entry.type.rawValue, "an entry's resource of another type")
                }
            }
            if bundle.kind == .transaction {
                require(bundle.entries.allSatisfy { (try? $0.get()) != nil }, "a transaction with a failed entry")
            }
        }
    }
}
