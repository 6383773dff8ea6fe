import ExportDomain
import FuzzSupport

/// Any bytes: the parser accepts or throws; what it accepts serializes to JSON that parses back
/// to the same value, and serializing that again gives the same bytes.
@main enum FuzzJSON {
    static func main() {
        FuzzDriver.run { input in
            guard let value = try? JSONParser.parse(input.bytes) else { return }
            let serialized = value.serialized()
            let reparsed = try? JSONParser.parse(serialized)
            require(reparsed == value, "parse → serialize → parse changed the value")
            require(reparsed?.serialized() == serialized, "serialization is not stable")
        }
    }
}
