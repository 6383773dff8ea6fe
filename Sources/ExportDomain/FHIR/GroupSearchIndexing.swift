/// The search index rows of a Group's discovery parameters beyond `identifier` and `name`
/// (those are `ReferenceIndexing.searchValues`): `characteristic`, `characteristic-value` and
/// `period`. `managing-entity` is found through the reference index. Changing these rules
/// needs `atrctl reindex`.
public enum GroupSearchIndexing {
    public static func searchValues(in resource: JSONObject) -> [IndexedSearchValue] {
        guard resource["resourceType"]?.stringValue == "Group" else { return [] }
        var values: [IndexedSearchValue] = []
        var seen = Set<IndexedSearchValue>()
        func add(_ value: IndexedSearchValue) {
            if seen.insert(value).inserted { values.append(value) }
        }
        for characteristic in resource["characteristic"]?.arrayValue ?? [] {
            let codings = codings(of: characteristic["code"])
            for coding in codings {
                add(IndexedSearchValue(parameter: "characteristic", system: coding.system, value: coding.code))
            }
            let codeKeys = codings.flatMap { SearchToken.keys(system: $0.system, code: $0.code) }
            for codeKey in codeKeys {
                for valueKey in valueKeys(of: characteristic) {
                    add(IndexedSearchValue(parameter: "characteristic-value", system: codeKey, value: valueKey))
                }
            }
        }
        for ext in resource["extension"]?.arrayValue ?? [] where ext["url"]?.stringValue == ATRExtension.contractValidityPeriod {
            if let period = contractPeriod(ext["valuePeriod"]) { add(period) }
        }
        add(IndexedSearchValue(parameter: memberCountParameter, system: nil, value: String(resource["member"]?.arrayValue?.count ?? 0)))
        return values
    }

    /// Not a search parameter (the underscore keeps it apart from them): the number of
    /// `member` entries, so a kick-off can refuse a Group too big to export without reading it.
    public static let memberCountParameter = "_member-count"

    /// A `period` row: `system` the first instant of the contract period (nil: open start),
    /// `value` the first instant after it (empty: open end), both in milliseconds since the
    /// epoch like every time in the database (as digits: the index columns are text). A
    /// partial-date end covers its whole day, month or year, as in `PeriodRule.covers`. Nil
    /// when a bound is not a FHIR dateTime (such a Group never matches).
    static func contractPeriod(_ period: JSONValue?) -> IndexedSearchValue? {
        guard let period = period?.objectValue else { return nil }
        var start: FHIRInstant?
        var end: FHIRInstant?
        if let text = period["start"]?.stringValue {
            guard let instant = FHIRInstant.parseDateTime(text) else { return nil }
            start = instant
        }
        if let text = period["end"]?.stringValue {
            guard let instant = FHIRInstant.parseDateTimeEnd(text) else { return nil }
            end = instant
        }
        return IndexedSearchValue(parameter: "period", system: start.map { String($0.millisecondsSinceEpoch) },
                                  value: end.map { String($0.millisecondsSinceEpoch) } ?? "")
    }

    /// The coded values of a characteristic's `value[x]` as composite keys: every coding of
    /// `valueCodeableConcept`, or `valueBoolean` as the code `true`/`false` without a system.
    private static func valueKeys(of characteristic: JSONValue) -> [String] {
        if let flag = characteristic["valueBoolean"]?.boolValue {
            return SearchToken.keys(system: nil, code: flag ? "true" : "false")
        }
        return codings(of: characteristic["valueCodeableConcept"]).flatMap { SearchToken.keys(system: $0.system, code: $0.code) }
    }

    private static func codings(of concept: JSONValue?) -> [(system: String?, code: String)] {
        (concept?["coding"]?.arrayValue ?? []).compactMap { coding in
            guard let code = coding["code"]?.stringValue, !code.isEmpty else { return nil }
            return (coding["system"]?.stringValue, code)
        }
    }
}

extension ATRExtension {
    /// On an ATR Group: the validity period of the contract the list belongs to (`valuePeriod`).
    public static let contractValidityPeriod = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-contractValidityPeriod"
}
