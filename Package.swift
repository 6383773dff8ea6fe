// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "atr-export",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "atr-fcgi", targets: ["FCGIApp"]),
        .executable(name: "atr-scheduler", targets: ["Scheduler"]),
        .executable(name: "atrctl", targets: ["AdminCLI"]),
        // For the fuzz targets in Fuzz/, a package of its own so the normal build never links them.
        .library(name: "ExportDomain", targets: ["ExportDomain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CFastCGI",
            pkgConfig: "fcgi",
            providers: [.apt(["libfcgi-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CPostgreSQL",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Pure logic: parsing, validation, rules. No I/O, no C.
        .target(name: "ExportDomain", dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")]),
        // The only module that talks to a database: SQLite or PostgreSQL.
        .target(name: "Storage", dependencies: ["ExportDomain", "CSQLite", "CPostgreSQL"]),
        // The streaming export: the order in which the rules of ExportDomain are applied to a
        // snapshot, and the NDJSON files. No I/O of its own: it reads an ExportSource and writes
        // ExportFiles (on a thread of its own, the line stage), so its unit tests drive it with
        // in-memory fakes.
        .target(name: "ExportEngine", dependencies: ["ExportDomain"]),
        // What every process needs from its host: configuration loading, the secrets, the task
        // file layout, the clock, logging. Shared by the three executables.
        .target(
            name: "Runtime",
            dependencies: ["ExportDomain", "Storage", .product(name: "Logging", package: "swift-log")]
        ),
        // Request handling (router, handlers, error rendering), testable without a socket.
        .target(
            name: "FHIRService",
            dependencies: [
                "ExportDomain", "Storage", "Runtime", .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "FCGIApp",
            dependencies: [
                "FHIRService", "Runtime", "ExportDomain", "CFastCGI", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "Scheduler",
            dependencies: [
                "ExportEngine", "Runtime", "Storage", "ExportDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "AdminCLI",
            dependencies: [
                "FHIRService", "Runtime", "Storage", "ExportDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ExportDomainTests", dependencies: ["ExportDomain"]),
        .testTarget(name: "ExportEngineTests", dependencies: ["ExportEngine", "ExportDomain"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage"]),
        .testTarget(name: "FHIRServiceTests", dependencies: ["FHIRService", "Runtime"]),
    ],
    swiftLanguageModes: [.v6]
)
