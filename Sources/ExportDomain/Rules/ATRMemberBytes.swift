/// `ATRMembership.member` on a stored `Group.member` element's bytes: an export reads every
/// element of a list of up to a million, and parsing each whole (three extensions with long
/// URLs, a period) was a tenth of its time. Only `entity` and the two followed extensions'
/// `valueReference` are parsed; other extensions are recognised by their URL's bytes and skipped.
/// The answer is the parsed version's for JSON this server wrote (valid, without duplicate
/// names); anything the byte path does not read plainly (an escaped name, an extension that is
/// not an object, an ordinary Group's `inactive` and `period`) takes the full parse.
extension ATRMembership {
    public static func member(stored element: [UInt8], atrGroup: Bool, now: FHIRInstant, baseURL: String) -> GroupMember? {
        func parsed() -> GroupMember? {
            guard case .object(let object)? = try? JSONParser.parse(element) else { return nil }
            return member(object, atrGroup: atrGroup, now: now, baseURL: baseURL)
        }
        guard atrGroup, let values = ResourceScan.values(of: MemberBytes.memberNames, in: element),
              let entityRange = values[0] else { return parsed() }
        guard let patient = MemberBytes.reference(element, entityRange, baseURL: baseURL), patient.type == "Patient" else { return nil }
        var coverages: [ResourceKey] = []
        var providers: [ResourceKey] = []
        if let extensions = values[1], element[extensions.lowerBound] == UInt8(ascii: "[") {
            var readable = true
            let complete = ResourceScan.forEachElement(in: element, array: extensions) { range in
                guard readable else { return }
                let fields = element.withUnsafeBytes { raw in
                    ResourceScan.values(of: MemberBytes.extensionNames, in: UnsafeRawBufferPointer(rebasing: raw[range]))
                }
                guard element[range.lowerBound] == UInt8(ascii: "{"), let fields else {
                    readable = false
                    return
                }
                guard let url = fields[0].map({ ($0.lowerBound + range.lowerBound)..<($0.upperBound + range.lowerBound) }),
                      let followed = MemberBytes.followedURL(element, url),
                      let valueRange = fields[1].map({ ($0.lowerBound + range.lowerBound)..<($0.upperBound + range.lowerBound) }),
                      let key = MemberBytes.reference(element, valueRange, baseURL: baseURL) else { return }
                switch followed {
                case .coverageReference where key.type == "Coverage":
                    if !coverages.contains(key) { coverages.append(key) }
                case .attributedProvider where ExportReferences.targetTypes.contains(key.type):
                    if !providers.contains(key) { providers.append(key) }
                default:
                    break
                }
            }
            guard readable, complete else { return parsed() }
        }
        return GroupMember(patient: patient, coverageReferences: coverages, attributedProviders: providers)
    }
}

enum MemberBytes {
    static let memberNames = ["entity", "extension"].map { Array($0.utf8) }
    static let extensionNames = ["url", "valueReference"].map { Array($0.utf8) }

    enum Followed { case coverageReference, attributedProvider }

    private static let coverageReferenceURL = Array(ATRExtension.coverageReference.utf8)
    private static let attributedProviderURL = Array(ATRExtension.attributedProvider.utf8)

    /// Which followed extension a `url` value names; nil for any other (or a non-string) value.
    static func followedURL(_ bytes: [UInt8], _ range: Range<Int>) -> Followed? {
        guard range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
        let inner = bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]
        let url: ArraySlice<UInt8>
        if inner.contains(UInt8(ascii: "\\")) {
            guard case .string(let text)? = try? JSONParser.parse(Array(bytes[range])) else { return nil }
            url = ArraySlice(text.utf8)
        } else {
            url = inner
        }
        func equal(_ known: [UInt8]) -> Bool {
            url.withUnsafeBytes { a in known.withUnsafeBytes { b in a.sameBytes(as: b) } }
        }
        if equal(coverageReferenceURL) { return .coverageReference }
        if equal(attributedProviderURL) { return .attributedProvider }
        return nil
    }

    private static let referenceName = [Array("reference".utf8)]

    /// The local key of a `Reference` value at `range` (`ReferenceReader.key`): its `reference`
    /// string read in place; anything else (not an object, an escaped name or string) parsed.
    static func reference(_ bytes: [UInt8], _ range: Range<Int>, baseURL: String) -> ResourceKey? {
        func parsed() -> ResourceKey? { ReferenceReader.key(of: try? JSONParser.parse(Array(bytes[range])), baseURL: baseURL) }
        let found = bytes.withUnsafeBytes { raw in
            ResourceScan.values(of: referenceName, in: UnsafeRawBufferPointer(rebasing: raw[range]))
        }
        guard let found else { return parsed() }
        guard let token = found[0].map({ ($0.lowerBound + range.lowerBound)..<($0.upperBound + range.lowerBound) }) else { return nil }
        guard token.count >= 2, bytes[token.lowerBound] == UInt8(ascii: "\"") else { return nil }
        let inner = bytes[(token.lowerBound + 1)..<(token.upperBound - 1)]
        if inner.contains(UInt8(ascii: "\\")) { return parsed() }
        return ResourceKey.parse(reference: String(decoding: inner, as: UTF8.self), baseURL: baseURL)
    }
}
