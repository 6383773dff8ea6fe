/// One FHIR `date` search value: an optional prefix and a date, dateTime or instant, which
/// names the range of instants of its precision (`2026` is all of 2026, an instant one
/// millisecond). The AuditEvent `date` and the Group `period` searches read it the same way.
public struct DateSearchValue: Sendable, Equatable {
    /// The prefixes this server supports (`ne`, `sa`, `eb` and `ap` are refused).
    public enum Prefix: String, Sendable, CaseIterable {
        case eq, gt, lt, ge, le
    }

    public var prefix: Prefix
    /// The first instant the value names.
    public var start: FHIRInstant
    /// The first instant after the range the value names.
    public var end: FHIRInstant

    public init(prefix: Prefix, start: FHIRInstant, end: FHIRInstant) {
        self.prefix = prefix
        self.start = start
        self.end = end
    }

    /// `[prefix]date`; nil when the text is neither (an unknown prefix included).
    public static func parse(_ text: String) -> DateSearchValue? {
        var prefix = Prefix.eq
        var date = Substring(text)
        if let first = text.first, first.isLetter {
            guard let known = Prefix(rawValue: String(text.prefix(2))) else { return nil }
            prefix = known
            date = date.dropFirst(2)
        }
        guard let start = FHIRInstant.parseDateTime(String(date)), let end = rangeEnd(of: String(date), start: start) else { return nil }
        return DateSearchValue(prefix: prefix, start: start, end: end)
    }

    /// The first instant after the range `text` names, by its precision: the next year, month
    /// or day for a partial date; the next second, or the next unit of its last fractional
    /// digit (down to milliseconds), for a time.
    private static func rangeEnd(of text: String, start: FHIRInstant) -> FHIRInstant? {
        guard let time = text.firstIndex(of: "T") else { return FHIRInstant.parseDateTimeEnd(text) }
        var width: Int64 = 1000
        if let dot = text[time...].firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }.count
            width = digits >= 3 ? 1 : digits == 2 ? 10 : 100
        }
        return FHIRInstant(millisecondsSinceEpoch: start.millisecondsSinceEpoch + width)
    }

    public static let syntax = "a FHIR date, dateTime or instant with an optional ge, gt, le, lt or eq prefix"
}
