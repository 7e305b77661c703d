// swift-tools-version:6.0
import PackageDescription

// One settings array for every target: Swift 6 mode plus the strictness we want everywhere.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// The numeric kernels (the model's forward and backward passes, Adam, aggregation) are the
// hot path; bounds checks there cost ~30% of throughput and every index they touch is
// validated when an example is built or an update decoded. Code that parses bytes from
// outside (codec, data, safetensors, transport) keeps its bounds checks.
let kernelSettings: [SwiftSetting] =
    swiftSettings + [
        .unsafeFlags(["-Ounchecked"], .when(configuration: .release))
    ]

let package = Package(
    name: "FedAttention",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fedattn-client", targets: ["fedattn-client"]),
        .executable(name: "fedattn-coordinator", targets: ["fedattn-coordinator"]),
        .library(name: "FedAttnModel", targets: ["FedAttnModel"]),
        .library(name: "FedAttnData", targets: ["FedAttnData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics.git", from: "1.1.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // NIOCertificateReloading: the coordinator's and the client's certificate renewed in place.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "FedAttnCore",
            dependencies: ["CMalloc", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: kernelSettings
        ),
        // Parses model files from outside: keeps its bounds checks.
        .target(
            name: "FedAttnSafetensors",
            dependencies: ["FedAttnCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FedAttnModel",
            dependencies: ["FedAttnCore", "FedAttnSafetensors", "FedAttnPrivacy", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "FedAttnData",
            dependencies: ["FedAttnModel", "FedAttnCore", "FedAttnCodec", "CZlib"],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "FedAttnCodec",
            dependencies: ["CZstd", "FedAttnCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FedAttnAggregation",
            dependencies: ["FedAttnCore"],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "FedAttnPrivacy",
            swiftSettings: swiftSettings
        ),
        // SecAgg+: Shamir sharing, X25519 + HKDF key agreement, ChaCha20 masks, the ring quantiser.
        .target(
            name: "FedAttnSecAgg",
            dependencies: ["FedAttnCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FedAttnFederation",
            dependencies: [
                "FedAttnAggregation", "FedAttnCodec", "FedAttnModel", "FedAttnCore", "FedAttnSafetensors", "FedAttnPrivacy", "FedAttnSecAgg",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FedAttnProtocol",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "protocol",
            exclude: ["fedattn.proto", "health.proto"]
        ),
        .target(
            name: "FedAttnTransport",
            dependencies: [
                "FedAttnFederation", "FedAttnModel", "FedAttnCore", "FedAttnProtocol", "FedAttnSecAgg",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                // ProtobufDeserializer, behind the service's size check (CoordinatorService+Messages).
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // A renewed certificate presented from the next TLS handshake on (IdentityFiles).
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FedAttnCommandLine",
            dependencies: [
                "FedAttnTransport", "FedAttnFederation", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FedAttnSimulation",
            dependencies: ["FedAttnTransport", "FedAttnFederation", "FedAttnData", "FedAttnModel", "FedAttnCodec", "FedAttnCore"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fedattn-coordinator",
            dependencies: [
                "FedAttnSimulation", "FedAttnTransport", "FedAttnCommandLine", "FedAttnFederation", "FedAttnModel", "FedAttnData",
                "FedAttnCodec", "FedAttnCore", "FedAttnPrivacy", "FedAttnAggregation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // bench --flood tells a refusal for the call rate by its status code.
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "coordinator",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fedattn-client",
            dependencies: [
                "FedAttnModel", "FedAttnData", "FedAttnCore", "FedAttnFederation", "FedAttnTransport", "FedAttnCommandLine", "FedAttnPrivacy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "client",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "_FedAttnTestSupport",
            dependencies: [
                "FedAttnModel", "FedAttnData", "FedAttnCore", "FedAttnFederation", "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnModelTests",
            dependencies: [
                "FedAttnModel", "FedAttnCore", "FedAttnSafetensors", "_FedAttnTestSupport",
                .product(name: "RealModule", package: "swift-numerics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnDataTests",
            dependencies: ["FedAttnData", "FedAttnModel", "FedAttnCore", "FedAttnCodec", "_FedAttnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnCodecTests",
            dependencies: ["FedAttnCodec", "FedAttnCore", "CZstd", "_FedAttnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnPrivacyTests",
            dependencies: ["FedAttnPrivacy", "_FedAttnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnSecAggTests",
            dependencies: ["FedAttnSecAgg", "FedAttnCore", "_FedAttnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnAggregationTests",
            dependencies: ["FedAttnAggregation", "FedAttnCore", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnFederationTests",
            dependencies: [
                "FedAttnFederation", "FedAttnSimulation", "FedAttnCodec", "FedAttnData", "FedAttnModel", "FedAttnCore", "FedAttnPrivacy",
                "FedAttnSecAgg", "FedAttnAggregation",
                "_FedAttnTestSupport",
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "Logging", package: "swift-log"),
                // A state folder as a later release would leave it.
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnTransportTests",
            dependencies: [
                "FedAttnTransport", "FedAttnSimulation", "FedAttnFederation", "FedAttnData", "FedAttnModel", "FedAttnProtocol",
                "FedAttnCodec", "FedAttnCore", "FedAttnSecAgg", "FedAttnAggregation", "_FedAttnTestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                // A silent peer: a bare TCP connection that never sends a byte.
                .product(name: "NIOPosix", package: "swift-nio"),
                // Certificate chains made in the tests (a root, an intermediate, leaves).
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnCommandLineTests",
            dependencies: ["FedAttnCommandLine", "_FedAttnTestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FedAttnClientTests",
            dependencies: [
                "fedattn-client", "fedattn-coordinator", "FedAttnModel", "FedAttnFederation", "_FedAttnTestSupport",
                // The certificates provision, renew and sign write, read back.
                "FedAttnTransport",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
