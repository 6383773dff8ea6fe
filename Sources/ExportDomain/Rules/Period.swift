/// "Does a FHIR `Period` cover an instant?", shared by the membership and Consent rules.
enum PeriodRule {
    /// Whether `period` covers `now`: `start` absent or `start <= now`, and `end` absent or
    /// `now < end`, where a partial-date `end` names the whole day/month/year
    /// (`FHIRInstant.parseDateTimeEnd`). An absent (or `null`) period covers every instant.
    ///
    /// Returns `nil` when the period is present but malformed (not an object, or a bound that
    /// is not a FHIR `dateTime`); each caller decides what that means.
    static func covers(_ period: JSONValue?, now: FHIRInstant) -> Bool? {
        guard let period, !period.isNull else { return true }
        guard let object = period.objectValue else { return nil }
        if let start = object["start"], !start.isNull {
            guard let text = start.stringValue, let instant = FHIRInstant.parseDateTime(text) else { return nil }
            if now < instant { return false }
        }
        if let end = object["end"], !end.isNull {
            guard let text = end.stringValue, let instant = FHIRInstant.parseDateTimeEnd(text) else { return nil }
            if !(now < instant) { return false }
        }
        return true
    }
}

/// Small shared readers for reference elements.
enum ReferenceReader {
    /// The local keys of `value`, a `Reference` or an array of them, in order.
    static func keys(in value: JSONValue?, baseURL: String) -> [ResourceKey] {
        guard let value else { return [] }
        if let array = value.arrayValue {
            return array.compactMap { key(of: $0, baseURL: baseURL) }
        }
        return key(of: value, baseURL: baseURL).map { [$0] } ?? []
    }

    /// The local key of one `Reference` value (`{"reference": "Type/id"}`), or `nil`.
    static func key(of value: JSONValue?, baseURL: String) -> ResourceKey? {
        guard let text = value?["reference"]?.stringValue else { return nil }
        return ResourceKey.parse(reference: text, baseURL: baseURL)
    }
}
