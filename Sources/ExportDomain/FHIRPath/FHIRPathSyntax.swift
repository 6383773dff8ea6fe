// FHIRPathSyntax.swift
//
// Lexer, syntax tree and parser for the FHIRPath subset used to select elements
// (`ResourceRedactionOptions…OmitElements`):
//
//   navigation     Patient.name.given, `delimited`, choice types (value → valueMoney …),
//                  an optional resource type as first step (Coverage.costToBeneficiary)
//   functions      descendants() children() where(criteria) exists([criteria]) empty()
//                  first() not() ofType(T) is(T) as(T)
//   operators      is  as  |  =  !=  and  or      (precedence: is/as > | > = != > and > or)
//   terms          $this, 'string' literals, numbers (-1, 2.50), true, false, ( … )
//   type names     FHIR types (Money, SimpleQuantity, string, Patient, BackboneElement …),
//                  System types (String, Boolean, Integer, Decimal, Date, DateTime, Time,
//                  Quantity), optionally qualified: FHIR.Money, System.String
//
// Anything else (other functions, indexers, arithmetic, comparisons, xor/implies, in/contains,
// %variables, $index/$total, date/time/quantity literals, {}) is rejected with its position,
// e.g. "unsupported function 'foo' at position 15 in expression 'descendants().foo()'".
// Positions are 1-based character (Unicode scalar) columns.

/// A FHIRPath expression that cannot be used: malformed or outside the supported subset
/// (`syntax`), not applicable to a resource (`evaluation`), or not usable as a redaction
/// (`redaction`, which stops the servers at start-up).
public struct FHIRPathError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Stage: Sendable, Hashable {
        case syntax, evaluation, redaction
    }

    public let stage: Stage
    /// The whole expression.
    public let expression: String
    /// 1-based column (Unicode scalars) where the problem was found.
    public let position: Int
    /// What is wrong, e.g. `unsupported function 'foo'`.
    public let message: String

    public init(_ stage: Stage = .syntax, expression: String, position: Int, message: String) {
        self.stage = stage
        self.expression = expression
        self.position = position
        self.message = message
    }

    /// The same problem, reported as a redaction (`OmitElements`) that cannot be used.
    public var asRedactionProblem: FHIRPathError {
        FHIRPathError(.redaction, expression: expression, position: position, message: message)
    }

    /// `unsupported function 'foo' at position 15 in expression 'descendants().foo()'`, or for a
    /// redaction `OmitElements expression 'descendants().foo()' at position 15: unsupported function 'foo'`.
    public var description: String {
        switch stage {
        case .syntax, .evaluation: return "\(message) at position \(position) in expression '\(expression)'"
        case .redaction: return "OmitElements expression '\(expression)' at position \(position): \(message)"
        }
    }
}

// MARK: - Syntax tree

/// A literal value.
enum FHIRPathLiteral: Sendable, Equatable {
    case string(String)
    /// A number literal as written (`-1`, `2.50`).
    case number(String)
    case boolean(Bool)
}

/// A type name after `is`, `as`, `ofType(…)`.
struct FHIRPathTypeSpecifier: Sendable, Equatable {
    enum Namespace: Sendable, Equatable { case fhir, system }
    /// `nil` when unqualified.
    var namespace: Namespace?
    var name: String
    /// As written, for messages.
    var text: String
    /// The FHIR type id in the R4 type graph, when the name is a FHIR type (resolved when the
    /// expression is checked against the model).
    var fhirType: Int?
    /// The System type name, when the name is a System type.
    var systemName: String?
}

/// The supported functions.
enum FHIRPathFunction: String, Sendable, CaseIterable {
    case descendants, children, `where`, exists, empty, first, not
    case ofType, `is`, `as`

    /// Allowed argument counts.
    var arity: ClosedRange<Int> {
        switch self {
        case .descendants, .children, .empty, .first, .not: return 0...0
        case .where, .ofType, .is, .as: return 1...1
        case .exists: return 0...1
        }
    }

    /// Whether the argument is a type name (otherwise an expression).
    var takesType: Bool {
        switch self {
        case .ofType, .is, .as: return true
        default: return false
        }
    }
}

enum FHIRPathBinaryOperator: String, Sendable {
    case union = "|"
    case equals = "="
    case notEquals = "!="
    case and
    case or
}

/// A node of the syntax tree. Nodes are numbered (`id`) so analyses can memoise per node.
final class FHIRPathNode: Sendable {
    enum Kind: Sendable {
        /// `$this`.
        case this
        case literal(FHIRPathLiteral)
        /// Member navigation; `base == nil`: from the input (focus) collection.
        case member(base: FHIRPathNode?, name: String)
        /// A resource type name as a step (`Coverage` in `Coverage.costToBeneficiary`):
        /// keeps the input items of that type.
        case typeFilter(base: FHIRPathNode?, type: FHIRPathTypeSpecifier)
        /// A function with an expression argument (or none).
        case function(base: FHIRPathNode?, FHIRPathFunction, argument: FHIRPathNode?)
        /// `ofType(T)`, `is(T)`, `as(T)`.
        case typeFunction(base: FHIRPathNode?, FHIRPathFunction, FHIRPathTypeSpecifier)
        /// `x is T`, `x as T`.
        case typeOperator(operand: FHIRPathNode, isOperator: Bool, FHIRPathTypeSpecifier)
        case binary(FHIRPathBinaryOperator, FHIRPathNode, FHIRPathNode)
    }

    let id: Int
    /// 1-based column of the token that names the operation.
    let position: Int
    let kind: Kind

    init(id: Int, position: Int, kind: Kind) {
        self.id = id
        self.position = position
        self.kind = kind
    }
}

// MARK: - Lexer

struct FHIRPathToken: Sendable {
    enum Kind: Sendable, Equatable {
        case identifier(String)
        case delimitedIdentifier(String)
        case string(String)
        case number(String)
        /// `$this`, `$index`, `$total`.
        case special(String)
        /// `%name` / `%'name'`.
        case externalConstant(String)
        /// `@2020-01-01`, `@T12:00`.
        case dateTime(String)
        case symbol(String)
        case end
    }

    var kind: Kind
    /// 1-based column of the first character.
    var position: Int
}

struct FHIRPathLexer {
    let expression: String
    let scalars: [Unicode.Scalar]

    init(_ expression: String) {
        self.expression = expression
        self.scalars = Array(expression.unicodeScalars)
    }

    private func error(_ offset: Int, _ message: String) -> FHIRPathError {
        FHIRPathError(expression: expression, position: offset + 1, message: message)
    }

    private static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_"
    }

    private static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        isIdentifierStart(c) || isDigit(c)
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    func tokenize() throws(FHIRPathError) -> [FHIRPathToken] {
        var tokens: [FHIRPathToken] = []
        var i = 0
        let n = scalars.count
        while i < n {
            let c = scalars[i]
            let start = i
            switch c {
            case " ", "\t", "\n", "\r", "\u{0C}":
                i += 1
                continue
            case "/" where i + 1 < n && scalars[i + 1] == "/":
                while i < n && scalars[i] != "\n" { i += 1 }
                continue
            case "/" where i + 1 < n && scalars[i + 1] == "*":
                i += 2
                while i + 1 < n && !(scalars[i] == "*" && scalars[i + 1] == "/") { i += 1 }
                guard i + 1 < n else { throw error(start, "unterminated comment") }
                i += 2
                continue
            case "'":
                let (text, next) = try readQuoted(from: i, quote: "'", what: "string literal")
                tokens.append(FHIRPathToken(kind: .string(text), position: start + 1))
                i = next
            case "`":
                let (text, next) = try readQuoted(from: i, quote: "`", what: "delimited identifier")
                tokens.append(FHIRPathToken(kind: .delimitedIdentifier(text), position: start + 1))
                i = next
            case "\"":
                throw error(start, "strings are written with single quotes ('…'), not double quotes")
            case "$":
                i += 1
                while i < n && Self.isIdentifierPart(scalars[i]) { i += 1 }
                tokens.append(FHIRPathToken(kind: .special(String(String.UnicodeScalarView(scalars[start..<i]))), position: start + 1))
            case "%":
                i += 1
                if i < n && (scalars[i] == "'" || scalars[i] == "`") {
                    let (text, next) = try readQuoted(from: i, quote: scalars[i], what: "environment variable")
                    i = next
                    tokens.append(FHIRPathToken(kind: .externalConstant(text), position: start + 1))
                } else {
                    while i < n && Self.isIdentifierPart(scalars[i]) { i += 1 }
                    tokens.append(FHIRPathToken(kind: .externalConstant(String(String.UnicodeScalarView(scalars[(start + 1)..<i]))), position: start + 1))
                }
            case "@":
                i += 1
                while i < n && (Self.isIdentifierPart(scalars[i]) || "-:.+".unicodeScalars.contains(scalars[i])) { i += 1 }
                tokens.append(FHIRPathToken(kind: .dateTime(String(String.UnicodeScalarView(scalars[start..<i]))), position: start + 1))
            default:
                if Self.isDigit(c) {
                    i += 1
                    while i < n && Self.isDigit(scalars[i]) { i += 1 }
                    if i + 1 < n && scalars[i] == "." && Self.isDigit(scalars[i + 1]) {
                        i += 1
                        while i < n && Self.isDigit(scalars[i]) { i += 1 }
                    }
                    tokens.append(FHIRPathToken(kind: .number(String(String.UnicodeScalarView(scalars[start..<i]))), position: start + 1))
                } else if Self.isIdentifierStart(c) {
                    i += 1
                    while i < n && Self.isIdentifierPart(scalars[i]) { i += 1 }
                    tokens.append(FHIRPathToken(kind: .identifier(String(String.UnicodeScalarView(scalars[start..<i]))), position: start + 1))
                } else {
                    let two = i + 1 < n ? String(String.UnicodeScalarView([c, scalars[i + 1]])) : ""
                    if ["!=", "<=", ">=", "!~"].contains(two) {
                        tokens.append(FHIRPathToken(kind: .symbol(two), position: start + 1))
                        i += 2
                    } else if "().,|=[]{}+-*/&<>~".unicodeScalars.contains(c) {
                        tokens.append(FHIRPathToken(kind: .symbol(String(c)), position: start + 1))
                        i += 1
                    } else {
                        throw error(start, "unexpected character '\(c)'")
                    }
                }
            }
        }
        tokens.append(FHIRPathToken(kind: .end, position: n + 1))
        return tokens
    }

    /// Reads a quoted string or delimited identifier starting at `start` (the quote) with the
    /// FHIRPath escapes; returns the text and the index after the closing quote.
    private func readQuoted(from start: Int, quote: Unicode.Scalar, what: String) throws(FHIRPathError) -> (String, Int) {
        var i = start + 1
        var out = String.UnicodeScalarView()
        let n = scalars.count
        while i < n {
            let c = scalars[i]
            if c == quote { return (String(out), i + 1) }
            if c == "\\" {
                guard i + 1 < n else { break }
                let e = scalars[i + 1]
                switch e {
                case "'", "\"", "`", "\\", "/": out.append(e)
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    guard i + 5 < n, let v = UInt32(String(String.UnicodeScalarView(scalars[(i + 2)...(i + 5)])), radix: 16),
                          let scalar = Unicode.Scalar(v)
                    else { throw error(i, "invalid \\u escape in \(what)") }
                    out.append(scalar)
                    i += 6
                    continue
                default:
                    throw error(i, "invalid escape '\\\(e)' in \(what)")
                }
                i += 2
                continue
            }
            out.append(c)
            i += 1
        }
        throw error(start, "unterminated \(what)")
    }
}

// MARK: - Parser

/// Parses the supported subset. With `resolveTypes`, type names and resource-type steps are
/// checked against the R4 model (unknown names are errors); without, only the syntax and the
/// supported subset are checked (for configurations that do not apply to R4).
struct FHIRPathParser {
    private let expression: String
    private let tokens: [FHIRPathToken]
    private let resolveTypes: Bool
    private var index = 0
    private var nextID = 0
    private var depth = 0

    /// Nesting limit (parentheses, function arguments), so hostile input cannot exhaust the stack.
    static let maximumDepth = 64

    static let unsupportedOperators: Set<String> = [
        "xor", "implies", "in", "contains", "div", "mod",
        "+", "-", "*", "/", "&", "<", ">", "<=", ">=", "~", "!~",
    ]

    static func parse(_ expression: String, resolveTypes: Bool) throws(FHIRPathError) -> (root: FHIRPathNode, nodeCount: Int) {
        let tokens = try FHIRPathLexer(expression).tokenize()
        var parser = FHIRPathParser(expression: expression, tokens: tokens, resolveTypes: resolveTypes)
        if case .end = tokens[0].kind {
            throw FHIRPathError(expression: expression, position: 1, message: "empty expression")
        }
        let root = try parser.parseExpression()
        let token = parser.peek
        if case .end = token.kind { return (root, parser.nextID) }
        throw parser.unexpected(token)
    }

    private init(expression: String, tokens: [FHIRPathToken], resolveTypes: Bool) {
        self.expression = expression
        self.tokens = tokens
        self.resolveTypes = resolveTypes
    }

    private var peek: FHIRPathToken { tokens[index] }

    private mutating func advance() -> FHIRPathToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func error(_ position: Int, _ message: String) -> FHIRPathError {
        FHIRPathError(expression: expression, position: position, message: message)
    }

    private mutating func node(_ position: Int, _ kind: FHIRPathNode.Kind) -> FHIRPathNode {
        defer { nextID += 1 }
        return FHIRPathNode(id: nextID, position: position, kind: kind)
    }

    private func isSymbol(_ token: FHIRPathToken, _ symbol: String) -> Bool {
        if case .symbol(let s) = token.kind { return s == symbol }
        return false
    }

    private func isKeyword(_ token: FHIRPathToken, _ word: String) -> Bool {
        if case .identifier(let s) = token.kind { return s == word }
        return false
    }

    /// The error for a token that cannot continue the expression here.
    private func unexpected(_ token: FHIRPathToken) -> FHIRPathError {
        switch token.kind {
        case .end:
            return error(token.position, "unexpected end of expression")
        case .symbol(let s) where s == "[":
            return error(token.position, "unsupported indexer '['")
        case .symbol(let s) where Self.unsupportedOperators.contains(s):
            return error(token.position, "unsupported operator '\(s)'")
        case .identifier(let s) where Self.unsupportedOperators.contains(s):
            return error(token.position, "unsupported operator '\(s)'")
        case .string where index > 0 && { if case .number = tokens[index - 1].kind { return true }; return false }():
            return error(tokens[index - 1].position, "unsupported quantity literal")
        case .symbol(let s):
            return error(token.position, "unexpected '\(s)'")
        case .identifier(let s), .delimitedIdentifier(let s):
            return error(token.position, "unexpected '\(s)'")
        case .string:
            return error(token.position, "unexpected string literal")
        case .number(let s):
            return error(token.position, "unexpected number '\(s)'")
        case .special(let s):
            return error(token.position, "unexpected '\(s)'")
        case .externalConstant(let s):
            return error(token.position, "unsupported environment variable '%\(s)'")
        case .dateTime(let s):
            return error(token.position, "unsupported date/time literal '\(s)'")
        }
    }

    // expression := or
    private mutating func parseExpression() throws(FHIRPathError) -> FHIRPathNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else {
            throw error(peek.position, "expression nested too deeply")
        }
        return try parseOr()
    }

    private mutating func parseOr() throws(FHIRPathError) -> FHIRPathNode {
        var left = try parseAnd()
        while isKeyword(peek, "or") {
            let op = advance()
            let right = try parseAnd()
            left = node(op.position, .binary(.or, left, right))
        }
        return left
    }

    private mutating func parseAnd() throws(FHIRPathError) -> FHIRPathNode {
        var left = try parseEquality()
        while isKeyword(peek, "and") {
            let op = advance()
            let right = try parseEquality()
            left = node(op.position, .binary(.and, left, right))
        }
        return left
    }

    private mutating func parseEquality() throws(FHIRPathError) -> FHIRPathNode {
        var left = try parseUnion()
        while isSymbol(peek, "=") || isSymbol(peek, "!=") {
            let op = advance()
            let right = try parseUnion()
            left = node(op.position, .binary(isSymbol(op, "=") ? .equals : .notEquals, left, right))
        }
        return left
    }

    private mutating func parseUnion() throws(FHIRPathError) -> FHIRPathNode {
        var left = try parseType()
        while isSymbol(peek, "|") {
            let op = advance()
            let right = try parseType()
            left = node(op.position, .binary(.union, left, right))
        }
        return left
    }

    private mutating func parseType() throws(FHIRPathError) -> FHIRPathNode {
        var left = try parsePostfix()
        while isKeyword(peek, "is") || isKeyword(peek, "as") {
            let op = advance()
            let type = try parseTypeSpecifier()
            left = node(op.position, .typeOperator(operand: left, isOperator: isKeyword(op, "is"), type))
        }
        return left
    }

    /// term ('.' invocation)*
    private mutating func parsePostfix() throws(FHIRPathError) -> FHIRPathNode {
        var current = try parseTerm()
        while true {
            if isSymbol(peek, ".") {
                _ = advance()
                current = try parseInvocation(base: current)
            } else if isSymbol(peek, "[") {
                throw error(peek.position, "unsupported indexer '['")
            } else {
                return current
            }
        }
    }

    private mutating func parseTerm() throws(FHIRPathError) -> FHIRPathNode {
        let token = peek
        switch token.kind {
        case .string(let s):
            _ = advance()
            return node(token.position, .literal(.string(s)))
        case .number(let s):
            _ = advance()
            if case .string = peek.kind { throw error(token.position, "unsupported quantity literal") }
            return node(token.position, .literal(.number(s)))
        case .symbol("-"), .symbol("+"):
            // A signed number literal; other unary operators are not supported.
            if case .number(let s) = tokens[index + 1].kind {
                _ = advance()
                _ = advance()
                if case .string = peek.kind { throw error(token.position, "unsupported quantity literal") }
                let isMinus = isSymbol(token, "-")
                return node(token.position, .literal(.number(isMinus ? "-" + s : s)))
            }
            if case .symbol(let s) = token.kind { throw error(token.position, "unsupported operator '\(s)'") }
            throw unexpected(token)
        case .symbol("("):
            _ = advance()
            let inner = try parseExpression()
            guard isSymbol(peek, ")") else {
                if case .end = peek.kind { throw error(token.position, "missing ')'") }
                throw unexpected(peek)
            }
            _ = advance()
            return inner
        case .symbol("{"):
            throw error(token.position, "unsupported empty collection literal '{}'")
        case .special(let name):
            _ = advance()
            guard name == "$this" else { throw error(token.position, "unsupported variable '\(name)'") }
            return node(token.position, .this)
        case .identifier("true"):
            _ = advance()
            return node(token.position, .literal(.boolean(true)))
        case .identifier("false"):
            _ = advance()
            return node(token.position, .literal(.boolean(false)))
        case .identifier, .delimitedIdentifier:
            return try parseInvocation(base: nil)
        default:
            throw unexpected(token)
        }
    }

    /// identifier | identifier '(' arguments ')'
    private mutating func parseInvocation(base: FHIRPathNode?) throws(FHIRPathError) -> FHIRPathNode {
        let token = advance()
        let name: String
        var delimited = false
        switch token.kind {
        case .identifier(let s):
            name = s
        case .delimitedIdentifier(let s):
            name = s
            delimited = true
        case .special(let s):
            throw error(token.position, s == "$this" ? "'$this' cannot follow '.'" : "unsupported variable '\(s)'")
        default:
            throw unexpected(token)
        }
        if !delimited && isSymbol(peek, "(") {
            return try parseFunction(name: name, position: token.position, base: base)
        }
        if let first = name.unicodeScalars.first, first >= "A" && first <= "Z" {
            // A type name as a step: `Coverage.costToBeneficiary`.
            var type = FHIRPathTypeSpecifier(namespace: .fhir, name: name, text: name)
            if resolveTypes {
                guard let id = R4Model.graph.ids[name],
                      R4Model.graph.isConcreteResource[id] || R4Model.graph.isAbstractResource[id]
                else {
                    throw error(token.position, "unknown resource type '\(name)'")
                }
                type.fhirType = id
            }
            return node(token.position, .typeFilter(base: base, type: type))
        }
        return node(token.position, .member(base: base, name: name))
    }

    private mutating func parseFunction(name: String, position: Int, base: FHIRPathNode?) throws(FHIRPathError) -> FHIRPathNode {
        guard let function = FHIRPathFunction(rawValue: name) else {
            throw error(position, "unsupported function '\(name)'")
        }
        _ = advance() // (
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw error(position, "expression nested too deeply") }
        var count = 0
        var argument: FHIRPathNode?
        var type: FHIRPathTypeSpecifier?
        if !isSymbol(peek, ")") {
            while true {
                count += 1
                if count > function.arity.upperBound {
                    throw error(peek.position, "function '\(name)' takes \(Self.arityText(function.arity))")
                }
                if function.takesType {
                    type = try parseTypeSpecifier()
                } else {
                    argument = try parseExpression()
                }
                if isSymbol(peek, ",") {
                    _ = advance()
                    continue
                }
                break
            }
        }
        guard isSymbol(peek, ")") else {
            if case .end = peek.kind { throw error(position, "missing ')' after the arguments of '\(name)'") }
            throw unexpected(peek)
        }
        _ = advance()
        guard function.arity.contains(count) else {
            throw error(position, "function '\(name)' takes \(Self.arityText(function.arity)), got \(count)")
        }
        if let type {
            return node(position, .typeFunction(base: base, function, type))
        }
        return node(position, .function(base: base, function, argument: argument))
    }

    private static func arityText(_ arity: ClosedRange<Int>) -> String {
        if arity.lowerBound == arity.upperBound {
            return arity.lowerBound == 0 ? "no arguments" : arity.lowerBound == 1 ? "1 argument" : "\(arity.lowerBound) arguments"
        }
        return "\(arity.lowerBound) to \(arity.upperBound) arguments"
    }

    /// qualifiedIdentifier: Name | FHIR.Name | System.Name
    private mutating func parseTypeSpecifier() throws(FHIRPathError) -> FHIRPathTypeSpecifier {
        let first = advance()
        var parts: [String] = []
        switch first.kind {
        case .identifier(let s), .delimitedIdentifier(let s): parts.append(s)
        default:
            if case .end = first.kind { throw error(first.position, "missing type name") }
            throw error(first.position, "expected a type name")
        }
        while isSymbol(peek, ".") {
            // `x is Quantity.value`? Only a namespace qualifier may precede a '.'.
            guard parts.count == 1, parts[0] == "FHIR" || parts[0] == "System" else { break }
            _ = advance()
            let next = advance()
            switch next.kind {
            case .identifier(let s), .delimitedIdentifier(let s): parts.append(s)
            default: throw error(next.position, "expected a type name after '\(parts[0]).'")
            }
        }
        let text = parts.joined(separator: ".")
        var spec: FHIRPathTypeSpecifier
        if parts.count == 2 {
            spec = FHIRPathTypeSpecifier(namespace: parts[0] == "FHIR" ? .fhir : .system, name: parts[1], text: text)
        } else {
            spec = FHIRPathTypeSpecifier(namespace: nil, name: parts[0], text: text)
        }
        let isSystem = R4Model.systemTypeNames.contains(spec.name)
        if spec.namespace != .fhir && isSystem { spec.systemName = spec.name }
        if resolveTypes && spec.namespace != .system, let id = R4Model.graph.ids[spec.name], R4Model.graph.kinds[id] == .fhir {
            spec.fhirType = id
        }
        if resolveTypes && spec.fhirType == nil && spec.systemName == nil {
            throw error(first.position, "unknown type '\(text)'")
        }
        if !resolveTypes && spec.namespace == .system && !isSystem {
            throw error(first.position, "unknown type '\(text)'")
        }
        return spec
    }
}
