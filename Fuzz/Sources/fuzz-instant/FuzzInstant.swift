import ExportDomain
import FuzzSupport

/// FHIR instants, dateTimes and date search values (`_since`, `period`, AuditEvent `date`).
@main enum FuzzInstant {
    static func main() {
        FuzzDriver.run { input in
            let text = input.text
            if let instant = FHIRInstant.parseInstant(text) {
                require(FHIRInstant.parseDateTime(text) == instant, "an instant that is not a dateTime: \(text)")
                // Stored instants are written as `description` and read back with parseInstant.
                require(FHIRInstant.parseInstant(instant.description) == instant, "\(text) does not read back")
                _ = instant.httpDate
            }
            if let start = FHIRInstant.parseDateTime(text) {
                let end = FHIRInstant.parseDateTimeEnd(text)
                require(end.map { $0 >= start } == true, "\(text) ends before it starts")
            }
            if let value = DateSearchValue.parse(text) {
                require(value.start < value.end, "the date search value \(text) names an empty range")
            }
        }
    }
}
