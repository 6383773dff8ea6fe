import ExportDomain
import FuzzSupport

/// A `GET Group?…` query string.
@main enum FuzzGroupSearch {
    static func main() {
        FuzzDriver.run { input in
            guard let pairs = try? FormURLEncoding.decode(input.bytes) else { return }
            guard let search = try? GroupSearch.parse(pairs.map { (name: $0.0, value: $0.1) }, baseURL: FuzzFixtures.baseURL)
            else { return }
            require(search.count >= 0, "a negative _count \(search.count)")
            for period in search.periods.joined() {
                require(period.start < period.end, "a period value naming an empty range")
            }
        }
    }
}
