import ExportDomain
import FuzzSupport

/// A reference as resources hold it: relative, versioned, or absolute under the base URL.
@main enum FuzzReference {
    static func main() {
        FuzzDriver.run { input in
            guard let key = ResourceKey.parse(reference: input.text, baseURL: FuzzFixtures.baseURL) else { return }
            require(ResourceID.isValid(key.id), "a reference to id '\(key.id)'")
            require(ResourceKey.parse(reference: key.description, baseURL: FuzzFixtures.baseURL) == key,
                    "\(key) does not read back")
            require(ResourceKey.parse(reference: "\(FuzzFixtures.baseURL)/\(key)", baseURL: FuzzFixtures.baseURL) == key,
                    "the absolute form of \(key) does not read back")
        }
    }
}
