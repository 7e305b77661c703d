import FedAttnCore
public import FedAttnData
public import FedAttnModel
public import Foundation

/// Small hand-made models and data shared by the test targets.
public enum Fixtures {
    /// A model small enough for finite differences over every parameter:
    /// d = 8, 8 hidden units, 6 items, 2 strategies, histories of at most 4.
    public static let tinyConfig = ModelConfig(dim: 8, historyLength: 4, hidden: 8, items: .catalogue(items: 6), strategies: 2)

    /// Examples that cover every path: empty, short and full histories, a candidate that is
    /// also in its own history, a repeated history item, both labels and both strategies.
    public static func tinyExamples() -> ExampleSet {
        var set = ExampleSet()
        set.append(candidate: 1, strategy: 0, label: 1, history: [Int32]())
        set.append(candidate: 2, strategy: 1, label: 0, history: [3])
        set.append(candidate: 3, strategy: 0, label: 1, history: [1, 2, 4, 5])
        set.append(candidate: 4, strategy: 1, label: 0, history: [4, 6, 6])
        set.append(candidate: 6, strategy: 0, label: 0, history: [2, 5])
        set.append(candidate: 5, strategy: 1, label: 1, history: [1, 3, 6, 2])
        return set
    }

    /// What each of `tinyExamples` trains in the gradient checks: labelled rows with and
    /// without the interaction head, and sampled negatives (each label, each strategy).
    public static let tinyRoles: [ExampleRole] = [.rankedLabelled, .sampledNegative, .labelled, .rankedLabelled, .sampledNegative, .rankedLabelled]

    /// A tiny model whose biases are non-zero and whose weights are larger than a fresh
    /// initialisation, so that no ReLU unit or gradient is trivially zero.
    /// `config` may widen `tinyConfig` (its items and strategies must stay, for `tinyExamples`).
    public static func tinyModel(seed: UInt64 = 3, config: ModelConfig = tinyConfig) throws -> AttentionModel {
        var model = try AttentionModel(config: config, seed: seed)
        var rng = SeededGenerator(seed: seed &+ 100)
        let layout = model.parameters.layout
        let paddingRow = layout.range(of: AttentionModel.TensorName.items)!.prefix(config.dim)
        for i in model.parameters.values.indices where !paddingRow.contains(i) {
            model.parameters.values[i] = Float(rng.nextNormal() * 0.5)
        }
        return model
    }

    /// Runs CPU-heavy test work on a thread of its own: it then holds neither a thread of
    /// Swift's cooperative pool nor one of Dispatch's (2 of each on a 2-core machine), which
    /// the federations of tests running beside it need to meet their deadlines.
    public static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// The folder `shared/` beside the repository, where the benchmark data lives.
    public static var sharedFolder: URL {
        URL(fileURLWithPath: #filePath)  // Sources/_FedAttnTestSupport/Fixtures.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// `shared/data/movielens-100k/...`
    public static func movieLens(_ path: String) -> String {
        sharedFolder.appendingPathComponent("data/movielens-100k").appendingPathComponent(path).path
    }

    /// A fresh empty folder under the system's temporary directory.
    public static func temporaryFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fedattn-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Writes `text` to a new file in a fresh temporary folder and returns its path.
    public static func writeTemporaryFile(_ name: String, _ text: String) throws -> String {
        let path = (try temporaryFolder() as NSString).appendingPathComponent(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

extension Fixtures {
    /// A small synthetic workload with planted structure (about 24,000 rows).
    public static let syntheticData = SyntheticGenerator.Config(users: 600, items: 400, topics: 8, strategies: 3, rowsPerUser: 40, seed: 11)

    /// The model configuration that fits `syntheticData`.
    public static var syntheticConfig: ModelConfig {
        ModelConfig(items: syntheticData.itemMapping, strategies: syntheticData.strategies)
    }

    /// `syntheticData`'s train and test examples.
    public static func syntheticExamples() -> (train: ExampleSet, test: ExampleSet) {
        ExampleBuilder().build(SyntheticGenerator(config: syntheticData).generate())
    }
}

extension Fixtures {
    /// A TCP port on 127.0.0.1 that was free a moment ago: for a server that must come back
    /// on the same port after a restart (port 0 would pick a new one).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CocoaError(.fileReadUnknown) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
