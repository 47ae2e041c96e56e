// swift-tools-version:6.2
// The per-request cost of recording `http_server_request_duration_seconds` with filmd's
// exporter and with swift-metrics / swift-prometheus (README, "Metrics"). A package of its
// own so that filmd does not depend on libraries it only measures.
//   scripts/swift-build-locked run -c release --package-path bench/metrics-cost
import PackageDescription

let package = Package(
    name: "metrics-cost",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "filmd", path: "../.."),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "metrics-cost",
            dependencies: [
                .product(name: "FilmAPI", package: "filmd"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
