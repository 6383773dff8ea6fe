/// FHIR search value syntax (R4 search §3.1.1.4): `,` separates alternatives (OR), `|` the
/// system from the code of a token, `$` the parts of a composite; `\` escapes any of them
/// and itself.
public enum SearchValueSyntax {
    /// `text` cut at every unescaped `separator`, the escapes kept (each part is split or
    /// unescaped further); nil when a `\` escapes a character other than `\ , | $`.
    public static func split(_ text: String, at separator: Character) -> [String]? {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                guard "\\,|$".contains(character) else { return nil }
                current.append("\\")
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !escaped else { return nil }
        parts.append(current)
        return parts
    }

    /// One part with its escapes removed (`a\,b` → `a,b`).
    public static func unescape(_ text: String) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if !escaped && character == "\\" {
                escaped = true
            } else {
                result.append(character)
                escaped = false
            }
        }
        return result
    }

    /// A literal written so that `split` and `unescape` give it back.
    public static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            if "\\,|$".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }
}

/// A token search value: `code` (any system), `system|code`, `|code` (no system) or `system|`
/// (any code of the system).
public struct SearchToken: Sendable, Hashable {
    public enum System: Sendable, Hashable {
        case any
        case none
        case named(String)
    }

    public var system: System
    /// nil only for `system|`.
    public var code: String?

    public init(system: System, code: String?) {
        self.system = system
        self.code = code
    }

    /// One alternative (already split at commas, escapes kept); nil when empty or malformed.
    public static func parse(_ text: String) -> SearchToken? {
        guard let parts = SearchValueSyntax.split(text, at: "|"), parts.count <= 2 else { return nil }
        let code = SearchValueSyntax.unescape(parts[parts.count - 1])
        if parts.count == 1 {
            return code.isEmpty ? nil : SearchToken(system: .any, code: code)
        }
        let system = SearchValueSyntax.unescape(parts[0])
        switch (system.isEmpty, code.isEmpty) {
        case (true, true): return nil
        case (true, false): return SearchToken(system: .none, code: code)
        case (false, true): return SearchToken(system: .named(system), code: nil)
        case (false, false): return SearchToken(system: .named(system), code: code)
        }
    }

    /// The text this value is found under in a composite index row (`SearchToken.keys`).
    public var key: String {
        let code = self.code.map(SearchValueSyntax.escape) ?? ""
        switch system {
        case .any: return code
        case .none: return "|" + code
        case .named(let name): return SearchValueSyntax.escape(name) + "|" + code
        }
    }

    /// Every `key` under which a coded value is found: each search form that matches it
    /// (`code`, `system|code` or `|code`, and `system|`). Composite parameters are indexed under
    /// these, so matching a composite is comparing texts.
    public static func keys(system: String?, code: String) -> [String] {
        let any = SearchToken(system: .any, code: code).key
        guard let system, !system.isEmpty else { return [any, SearchToken(system: .none, code: code).key] }
        return [any, SearchToken(system: .named(system), code: code).key, SearchToken(system: .named(system), code: nil).key]
    }
}
