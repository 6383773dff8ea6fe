/// What the configuration checks in a libpq connection string.
public enum ConnectionStrings {
    /// Whether it names a password: a `password` keyword, or a URI's `user:password@` or
    /// `?password=`.
    public static func containsPassword(_ connectionString: String) -> Bool {
        let text = Array(connectionString.lowercased())
        if text.starts(with: "postgresql://") || text.starts(with: "postgres://") {
            let authority = text.drop { $0 != "/" }.dropFirst(2).prefix { $0 != "/" && $0 != "?" }
            let userInfo = authority.contains("@") ? authority.prefix { $0 != "@" } : []
            let query = text.drop { $0 != "?" }.dropFirst().split(separator: "&")
            return userInfo.contains(":") || query.contains { $0.starts(with: "password=") }
        }
        return keywords(text).contains("password")
    }

    /// The keywords of `keyword = value` pairs; values may be single-quoted with `\` escapes.
    static func keywords(_ text: [Character]) -> [String] {
        var found: [String] = []
        var index = 0
        func skipSpaces() { while index < text.count && text[index].isWhitespace { index += 1 } }
        while true {
            skipSpaces()
            guard index < text.count else { return found }
            var keyword = ""
            while index < text.count && text[index] != "=" && !text[index].isWhitespace { keyword.append(text[index]); index += 1 }
            found.append(keyword)
            skipSpaces()
            guard index < text.count, text[index] == "=" else { return found }
            index += 1
            skipSpaces()
            if index < text.count && text[index] == "'" {
                index += 1
                while index < text.count && text[index] != "'" { index += text[index] == "\\" ? 2 : 1 }
                index += 1
            } else {
                while index < text.count && !text[index].isWhitespace { index += text[index] == "\\" ? 2 : 1 }
            }
        }
    }
}
