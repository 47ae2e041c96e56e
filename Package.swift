// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "filmd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "filmd", targets: ["filmd"]),
        .library(name: "FilmAPI", targets: ["FilmAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // libevent wrapped by a small C shim: it owns the libevent symbols that filmd
        // interposes so that libevent never answers a client with its own HTML page.
        .target(
            name: "CLibEvent",
            linkerSettings: [
                .linkedLibrary("event"),
                .linkedLibrary("event_pthreads"),
                .linkedLibrary("event_openssl"),
                .linkedLibrary("ssl"),
                .linkedLibrary("crypto"),
                .linkedLibrary("dl"),
            ]
        ),
        // SQLite's C API, plus a VFS that writes a transaction's WAL frames at once.
        .target(name: "CSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        // libpq, PostgreSQL's client library, for `database.url` (Debian's libpq-dev).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // hiredis 0.14.1 on an event loop's event_base, with filmd's own libevent adapter
        // (shared rate limits, SPEC §9).
        .target(name: "CHiredis", linkerSettings: [.linkedLibrary("hiredis"), .linkedLibrary("event")]),
        // assets/ (the OpenAPI document, the console) compiled into FilmAPI as string literals at
        // build time: a deployment is one file, and nothing generated is committed.
        .executableTarget(name: "EmbedAssets"),
        .plugin(name: "EmbedAssetsPlugin", capability: .buildTool(), dependencies: ["EmbedAssets"]),
        .target(
            name: "FilmAPI",
            dependencies: [
                "CLibEvent",
                "CSQLite",
                "CLibPQ",
                "CHiredis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: [.enableUpcomingFeature("NonisolatedNonsendingByDefault")],
            plugins: ["EmbedAssetsPlugin"]
        ),
        .executableTarget(
            name: "filmd",
            dependencies: [
                "FilmAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The fuzz targets (`make fuzz`): built with -sanitize=fuzzer they are libFuzzer's;
        // built plainly they replay the files they are given.
        .executableTarget(name: "filmd-fuzz", dependencies: ["FilmAPI", "CLibEvent"]),
        .testTarget(name: "FilmAPITests", dependencies: ["FilmAPI"]),
    ],
    swiftLanguageModes: [.v6]
)
