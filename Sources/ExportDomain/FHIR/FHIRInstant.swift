/// A point in time as milliseconds since the Unix epoch, with the FHIR `instant` text forms.
/// Calendar arithmetic is done here (proleptic Gregorian, UTC) so the domain needs no clock or Foundation.
public struct FHIRInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func < (lhs: FHIRInstant, rhs: FHIRInstant) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// `2026-11-26T15:55:04.123Z`: UTC with exactly three fractional digits, so stored
    /// values sort as text in time order.
    public var description: String {
        let (days, msOfDay) = floorDivMod(millisecondsSinceEpoch, 86_400_000)
        let (year, month, day) = Self.civil(fromDays: days)
        let seconds = msOfDay / 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):"
            + "\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 IMF-fixdate) for `Last-Modified`.
    public var httpDate: String {
        let (days, msOfDay) = floorDivMod(millisecondsSinceEpoch, 86_400_000)
        let (year, month, day) = Self.civil(fromDays: days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(floorDivMod(days, 7).1)]
        let monthName = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Int(month) - 1]
        let seconds = msOfDay / 1000
        return "\(weekday), \(pad(day, 2)) \(monthName) \(pad(year, 4)) "
            + "\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)) GMT"
    }

    /// Parses a FHIR `instant` (`YYYY-MM-DDThh:mm:ss(.sss…)?(Z|±hh:mm)`): a time zone is required.
    public static func parseInstant(_ text: String) -> FHIRInstant? {
        parse(text, requireTime: true)
    }

    /// Parses a FHIR `dateTime` or `date` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or a full instant);
    /// partial dates mean their first moment, UTC.
    public static func parseDateTime(_ text: String) -> FHIRInstant? {
        parse(text, requireTime: false)
    }

    /// For a partial date, the first instant after the period it names (e.g. `2025` → 2026-01-01),
    /// used for "period.end covers now" checks.
    public static func parseDateTimeEnd(_ text: String) -> FHIRInstant? {
        let bytes = Array(text.utf8)
        guard let start = parse(text, requireTime: false) else { return nil }
        switch bytes.count {
        case 4:
            guard let year = number(bytes, 0, 4) else { return nil }
            return FHIRInstant(days: Self.days(fromCivil: year + 1, 1, 1))
        case 7:
            guard let year = number(bytes, 0, 4), let month = number(bytes, 5, 2) else { return nil }
            return month == 12
                ? FHIRInstant(days: Self.days(fromCivil: year + 1, 1, 1))
                : FHIRInstant(days: Self.days(fromCivil: year, month + 1, 1))
        case 10:
            return FHIRInstant(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 86_400_000)
        default:
            return start
        }
    }

    private init(days: Int64) {
        millisecondsSinceEpoch = days * 86_400_000
    }

    private static func parse(_ text: String, requireTime: Bool) -> FHIRInstant? {
        let b = Array(text.utf8)
        guard b.count >= 4, let year = number(b, 0, 4), year >= 1 else { return nil }
        var month: Int64 = 1
        var day: Int64 = 1
        if b.count == 4 { return requireTime ? nil : FHIRInstant(days: days(fromCivil: year, 1, 1)) }
        guard b.count >= 7, b[4] == ascii("-"), let m = number(b, 5, 2), (1...12).contains(m) else { return nil }
        month = m
        if b.count == 7 { return requireTime ? nil : FHIRInstant(days: days(fromCivil: year, month, 1)) }
        guard b.count >= 10, b[7] == ascii("-"), let d = number(b, 8, 2),
              d >= 1, d <= daysInMonth(year, month) else { return nil }
        day = d
        if b.count == 10 { return requireTime ? nil : FHIRInstant(days: days(fromCivil: year, month, day)) }
        guard b.count >= 20, b[10] == ascii("T"), b[13] == ascii(":"), b[16] == ascii(":"),
              let hour = number(b, 11, 2), hour < 24,
              let minute = number(b, 14, 2), minute < 60,
              let second = number(b, 17, 2), second < 60 else { return nil }
        var index = 19
        var millis: Int64 = 0
        if b[index] == ascii(".") {
            index += 1
            let fractionStart = index
            while index < b.count, b[index] >= ascii("0"), b[index] <= ascii("9") { index += 1 }
            let digits = index - fractionStart
            guard digits >= 1, digits <= 9 else { return nil }
            for position in 0..<3 {
                millis *= 10
                if position < digits { millis += Int64(b[fractionStart + position] - ascii("0")) }
            }
        }
        guard index < b.count else { return nil }
        var offsetMinutes: Int64 = 0
        if b[index] == ascii("Z") {
            index += 1
        } else if b[index] == ascii("+") || b[index] == ascii("-") {
            guard b.count == index + 6, b[index + 3] == ascii(":"),
                  let offsetHours = number(b, index + 1, 2), offsetHours <= 14,
                  let offsetMins = number(b, index + 4, 2), offsetMins < 60 else { return nil }
            offsetMinutes = (offsetHours * 60 + offsetMins) * (b[index] == ascii("+") ? 1 : -1)
            index += 6
        } else {
            return nil
        }
        guard index == b.count else { return nil }
        let dayMillis = days(fromCivil: year, month, day) * 86_400_000
        let timeMillis = ((hour * 60 + minute) * 60 + second) * 1000 + millis
        return FHIRInstant(millisecondsSinceEpoch: dayMillis + timeMillis - offsetMinutes * 60_000)
    }

    private static func ascii(_ character: Unicode.Scalar) -> UInt8 { UInt8(character.value) }

    private static func number(_ bytes: [UInt8], _ start: Int, _ length: Int) -> Int64? {
        guard start + length <= bytes.count else { return nil }
        var value: Int64 = 0
        for byte in bytes[start..<(start + length)] {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }

    private static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivMod(y, 400).0
        let yearOfEra = y - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDivMod(z, 146_097).0
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

private func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
    let quotient = a / b
    let remainder = a % b
    return remainder < 0 ? (quotient - 1, remainder + b) : (quotient, remainder)
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
