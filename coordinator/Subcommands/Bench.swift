import ArgumentParser
import FedAttnCodec
import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnTransport
import Foundation
import GRPCCore
import Synchronization

extension CoordinatorCommand {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load-test a coordinator: many clients over mutual TLS sending prepared updates instead of training.",
            discussion: """
                Starts `serve` as its own process on 127.0.0.1 (so that its memory is measured alone), then runs the \
                clients here, each with its own certificate, speaking the real protocol: join, download, upload a \
                prepared float16 delta, report a prepared evaluation. Prints updates aggregated per second, the \
                coordinator's peak memory against 3x the model's float32 size plus 100 MB, and how many clients \
                were refused.
                """)

        @Option(name: .long, help: "Concurrent clients.") var clients = 200
        @Option(name: .long, help: "Rounds.") var rounds = 5
        @Option(name: .long, help: "Item catalogue size; 31,000 items make a model of about 1M parameters.") var items = 31_000
        @Option(name: .long, help: "Share of item rows each prepared update changes.") var changedRows = 0.1
        @Option(
            name: .long,
            help: "Clients that first send a decompression bomb each round (a zstd frame hiding its size, 1 GiB of zeros), then their update.")
        var bombs = 0
        @Option(name: .long, help: "A command to run the coordinator under, e.g. \"heaptrack -o FILE\" (split at spaces).")
        var serveWrapper: String?
        @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false

        func validate() throws {
            guard clients >= 1, rounds >= 1, items >= 1, changedRows > 0, changedRows <= 1, (0...clients).contains(bombs) else {
                throw ValidationError("--clients, --rounds and --items must be at least 1; --changed-rows in (0, 1]; --bombs in 0...clients")
            }
        }

        func run() async throws {
            let model = ModelConfig(items: .catalogue(items: items))
            let layout = AttentionModel.layout(for: model)
            let update = try Self.preparedUpdate(layout: layout, changedRows: changedRows)
            let bomb = bombs == 0 ? Data() : try ZstdFrame.compressStreaming(repeatElement(Data(count: 1 << 20), count: 1 << 10), level: 1)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("fedattn-bench-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            let authority = try DevCertificateAuthority()
            let server = try authority.serverIdentity()
            for (name, text) in [("cert.pem", server.certificatePEM), ("key.pem", server.privateKeyPEM), ("ca.pem", server.caCertificatePEM)] {
                try Data(text.utf8).write(to: URL(fileURLWithPath: work + "/" + name))
            }
            let identities = try (0..<clients).map { try authority.clientIdentity(name: String(format: "load-%04d", $0)) }
            progress("model: \(layout.count) parameters (\(layout.count * 4) bytes as float32); update: \(update.count) bytes; \(clients) clients")

            // The coordinator under test, as its own process.
            let serve = Process()
            let wrapper = serveWrapper?.split(separator: " ").map(String.init) ?? []
            serve.executableURL = URL(fileURLWithPath: wrapper.first.map(Self.resolve) ?? CommandLine.arguments[0])
            serve.arguments =
                wrapper.dropFirst() + (wrapper.isEmpty ? [] : [CommandLine.arguments[0]]) + [
                    "serve", "--host", "127.0.0.1", "--port", "0", "--cert", work + "/cert.pem", "--key", work + "/key.pem", "--ca", work + "/ca.pem",
                    "--state", work + "/state", "--rounds", "\(rounds)", "--min-clients", "\(clients)", "--items", "catalogue:\(items)",
                    "--max-update-norm", "1e9",
                ]
            let logPath = work + "/serve.log"
            FileManager.default.createFile(atPath: logPath, contents: nil)
            serve.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            serve.standardOutput = FileHandle.nullDevice
            try serve.run()
            defer { if serve.isRunning { serve.terminate() } }
            var port: Int?
            for _ in 0..<500 where port == nil {
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                if let range = log.range(of: #"listening on 127\.0\.0\.1:([0-9]+)"#, options: .regularExpression) {
                    port = Int(log[range].split(separator: ":").last!)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            guard let port else {
                throw ValidationError("the coordinator did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
            }

            let positives = (0..<EvaluationSummary.bins).map { UInt64($0 % 3) }, negatives = (0..<EvaluationSummary.bins).map { UInt64($0 % 2) }
            let summary = EvaluationSummary(
                examples: Int(positives.reduce(0, +) + negatives.reduce(0, +)), logLossSum: 650, positives: positives, negatives: negatives)
            let started = ContinuousClock.now
            let bombsRefused = Counter()
            let refused = await withTaskGroup(of: Bool.self) { group in
                for (index, identity) in identities.enumerated() {
                    group.addTask {
                        do {
                            try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                                _ = try await link.join(protocolVersion: Coordinator.protocolVersion, trainExamples: 1_000)
                                var lastRound = 0
                                while true {
                                    switch try await link.nextTask(lastRound: lastRound) {
                                    case .train(let round, let version, _):
                                        _ = try await link.downloadModel(version: version)
                                        if index < bombs {
                                            do {
                                                _ = try await link.uploadUpdate(
                                                    round: round, baseVersion: version, examples: 1_000, trainSeconds: 0, payload: bomb)
                                                progress("a decompression bomb was accepted")
                                            } catch let error as RPCError where error.code == .resourceExhausted {
                                                bombsRefused.increment()
                                            }
                                        }
                                        _ = try await link.uploadUpdate(
                                            round: round, baseVersion: version, examples: 1_000, trainSeconds: 0, payload: update)
                                        lastRound = round
                                    case .evaluate(let round, let version):
                                        try await link.reportEvaluation(round: round, version: version, summary: summary)
                                    case .wait(let after): try await Task.sleep(for: after)
                                    case .done: return
                                    }
                                }
                            }
                            return false
                        } catch {
                            progress("client refused or failed: \(error)")
                            return true
                        }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            let wall = (ContinuousClock.now - started).seconds
            serve.waitUntilExit()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            let peak =
                log.range(of: #"peak memory ([0-9]+) bytes"#, options: .regularExpression).flatMap { Int(log[$0].split(separator: " ")[2]) } ?? 0
            let history = try StateStore.reading(folder: work + "/state").rounds()
            let roundSeconds = history.compactMap { $0.evaluation?.seconds }
            let updates = history.reduce(0) { $0 + $1.participants.count }
            let result = LoadResult(
                clients: clients, rounds: history.count, parameters: layout.count, modelBytesFloat32: layout.count * 4, updateBytes: update.count,
                updatesAggregated: updates, updatesPerSecond: Double(updates) / roundSeconds.reduce(0, +), roundSeconds: roundSeconds,
                coordinatorPeakRSSBytes: peak, memoryBudgetBytes: 3 * layout.count * 4 + 100_000_000, refused: refused,
                bombsSent: bombs * history.count, bombsRefused: bombsRefused.value, bombBytes: bomb.count, wallSeconds: wall)
            print(json ? try result.json() : result.table())
        }

        /// A wrapper named without a path is looked up on PATH.
        static func resolve(_ command: String) -> String {
            if command.contains("/") { return command }
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            return path.split(separator: ":").map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? command
        }

        /// A delta that changes `changedRows` of the item rows and every other tensor, float16.
        static func preparedUpdate(layout: ParameterLayout, changedRows: Double) throws -> Data {
            var delta = Weights(zerosLike: layout)
            var rng = SeededGenerator(seed: 42)
            let items = layout.range(of: AttentionModel.TensorName.items)!
            let width = layout.tensors[0].shape[1], rows = layout.tensors[0].shape[0]
            for row in 1..<rows where rng.nextUnit() < changedRows {
                for j in 0..<width { delta.values[items.lowerBound + row * width + j] = Float(rng.nextNormal() * 1e-3) }
            }
            for i in items.upperBound..<layout.count { delta.values[i] = Float(rng.nextNormal() * 1e-3) }
            return try TensorPayload.encode(SparseWeights(delta, sparseTensors: [AttentionModel.TensorName.items]), precision: .float16)
        }
    }
}

private final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

private func progress(_ line: String) {
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}

struct LoadResult: Encodable {
    let clients: Int, rounds: Int, parameters: Int, modelBytesFloat32: Int, updateBytes: Int, updatesAggregated: Int
    let updatesPerSecond: Double, roundSeconds: [Double], coordinatorPeakRSSBytes: Int, memoryBudgetBytes: Int, refused: Int
    let bombsSent: Int, bombsRefused: Int, bombBytes: Int, wallSeconds: Double

    enum CodingKeys: String, CodingKey {
        case clients, rounds, parameters, modelBytesFloat32 = "model_bytes_float32", updateBytes = "update_bytes"
        case updatesAggregated = "updates_aggregated", updatesPerSecond = "updates_aggregated_per_second", roundSeconds = "round_seconds"
        case coordinatorPeakRSSBytes = "coordinator_peak_rss_bytes", memoryBudgetBytes = "memory_budget_bytes", refused
        case bombsSent = "bombs_sent", bombsRefused = "bombs_refused", bombBytes = "bomb_bytes", wallSeconds = "wall_seconds"
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func table() -> String {
        [
            "clients                    \(clients) (refused: \(refused))",
            "model                      \(parameters) parameters, \(modelBytesFloat32) bytes as float32",
            "update                     \(updateBytes) bytes",
            "rounds                     \(rounds), \(updatesAggregated) updates aggregated",
            String(format: "updates aggregated/s       %.0f", updatesPerSecond),
            "round seconds              " + roundSeconds.map { String(format: "%.2f", $0) }.joined(separator: " "),
            String(
                format: "coordinator peak memory    %.1f MB (budget %.1f MB)", Double(coordinatorPeakRSSBytes) / 1e6, Double(memoryBudgetBytes) / 1e6),
            "bombs                      \(bombsSent) sent (\(bombBytes) bytes each, 1 GiB inflated), \(bombsRefused) refused",
            String(format: "wall                       %.1f s", wallSeconds),
        ].joined(separator: "\n")
    }
}
