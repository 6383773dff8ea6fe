// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets, one executable a parser. Built only by scripts/fuzz.sh with
// `-sanitize=fuzzer,address`: the fuzzer runtime supplies `main`, so these never build plainly.
let fuzzTargets = [
    "fuzz-json",
    "fuzz-kickoff-query",
    "fuzz-kickoff-parameters",
    "fuzz-resource",
    "fuzz-bundle",
    "fuzz-fhirpath",
    "fuzz-redaction",
    "fuzz-jwt",
    "fuzz-jwk",
    "fuzz-client-assertion",
    "fuzz-pem",
    "fuzz-scope",
    "fuzz-token-request",
    "fuzz-signed-path",
    "fuzz-instant",
    "fuzz-reference",
    "fuzz-list-operation",
    "fuzz-group-search",
]

let package = Package(
    name: "atr-export-fuzz",
    platforms: [.macOS(.v13)],
    // Named, because a path dependency is otherwise known by its folder's name, which differs between checkouts.
    dependencies: [.package(name: "atr-export", path: "..")],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", .product(name: "ExportDomain", package: "atr-export")]),
    ] + fuzzTargets.map { name in
        .executableTarget(
            name: name,
            dependencies: ["FuzzSupport", .product(name: "ExportDomain", package: "atr-export")]
        )
    },
    swiftLanguageModes: [.v6]
)
