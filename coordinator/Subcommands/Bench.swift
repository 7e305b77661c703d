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
                clients here, each a `Participant` (the client's own protocol code) with its own certificate, whose \
                local work is a prepared float16 delta and a prepared evaluation instead of training. Prints updates \
                aggregated per second, the coordinator's peak memory against 3x the model's float32 size plus 100 MB, \
                and how many clients were refused.
                """)

        @Option(name: .long, help: "Concurrent clients.") var clients = 200
        @Option(name: .long, help: "Rounds.") var rounds = 5
        @Option(name: .long, help: "Item catalogue size; 31,000 items make a model of about 1M parameters.") var items = 31_000
        @Option(name: .long, help: "Share of item rows each prepared update changes.") var changedRows = 0.1
        @Option(
            name: .long,
            help: "Clients that first send a decompression bomb each round (a zstd frame hiding its size, 1 GiB of zeros), then their update.")
        var bombs = 0
        @Option(
            name: .long,
            help:
                "Connections (each with its own certificate, never joined) that call NextTask in a loop, 16 calls at a time each, while the clients run."
        )
        var flood = 0
        @Flag(name: .long, help: "Run serve with --secure-aggregation: the clients sum their prepared updates through SecAgg+.")
        var secureAggregation = false
        @Option(name: .long, help: "A command to run the coordinator under, e.g. \"heaptrack -o FILE\" (split at spaces).")
        var serveWrapper: String?
        @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false

        func validate() throws {
            guard clients >= 1, rounds >= 1, items >= 1, changedRows > 0, changedRows <= 1, (0...clients).contains(bombs), flood >= 0 else {
                throw ValidationError(
                    "--clients, --rounds and --items must be at least 1; --changed-rows in (0, 1]; --bombs in 0...clients; --flood 0 or more")
            }
        }

        func run() async throws {
            let model = ModelConfig(items: .catalogue(items: items))
            let layout = AttentionModel.layout(for: model)
            let work = PreparedWork(update: try PreparedWork.update(layout: layout, changedRows: changedRows))
            let bomb = bombs == 0 ? Data() : try BombingLink.bomb()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fedattn-bench-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let authority = try DevCertificateAuthority()
            let server = try authority.serverIdentity()
            for (name, text) in [("cert.pem", server.certificatePEM), ("key.pem", server.privateKeyPEM), ("ca.pem", server.caCertificatePEM)] {
                try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + name))
            }
            let identities = try (0..<clients).map { try authority.clientIdentity(name: String(format: "load-%04d", $0)) }
            let flooders = try (0..<flood).map { try authority.clientIdentity(name: String(format: "flood-%04d", $0)) }
            progress(
                "model: \(layout.count) parameters (\(layout.count * 4) bytes as float32); update: \(work.update.count) bytes; \(clients) clients")

            let serve = try ServeProcess(
                arguments: [
                    "--host", "127.0.0.1", "--cert", folder + "/cert.pem", "--key", folder + "/key.pem", "--ca", folder + "/ca.pem",
                    "--state", folder + "/state", "--rounds", "\(rounds)", "--min-clients", "\(clients)", "--items", "catalogue:\(items)",
                    // Prepared updates are random, far past the default norm bound; under secure
                    // aggregation no norm is checked (the clip bounds each value) and the flag is refused.
                ] + (secureAggregation ? ["--secure-aggregation"] : ["--max-update-norm", "1e9"]), wrapper: serveWrapper, folder: folder)
            defer { serve.stop() }
            let port = try await serve.port()

            let started = ContinuousClock.now
            let tally = BombTally(), dropped = Tally()
            let floodCalls = Tally(), floodRateRefused = Tally()
            let flooding = Task {
                await withTaskGroup(of: Void.self) { group in
                    for identity in flooders {
                        group.addTask {
                            try? await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                                await Self.flood(link, calls: floodCalls, rateRefused: floodRateRefused)
                            }
                        }
                    }
                }
            }
            let refused = await withTaskGroup(of: Bool.self) { group in
                for (index, identity) in identities.enumerated() {
                    group.addTask {
                        do {
                            try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                                let link: any FederationLink = index < bombs ? BombingLink(link: link, bomb: bomb, tally: tally) : link
                                try await Participant(work: work).run(link: link, expectedModel: model) { event in
                                    if case .dropped = event { dropped.add() }
                                }
                            }
                            return false
                        } catch {
                            progress("client load-\(String(format: "%04d", index)) refused or failed: \(error)")
                            return true
                        }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            let wall = (ContinuousClock.now - started).seconds
            flooding.cancel()
            await flooding.value
            // A client that failed leaves serve short of --min-clients for good: stop it.
            if refused > 0 { serve.stop() }
            let (status, peak, cpu) = serve.waitForExit()
            guard status == 0 || refused > 0 else {
                throw ServeProcessError(log: (try? String(contentsOfFile: serve.logPath, encoding: .utf8)) ?? "")
            }
            let history = try StateStore.reading(folder: folder + "/state").rounds()
            let roundSeconds = history.compactMap { $0.evaluation?.seconds }
            let updates = history.reduce(0) { $0 + $1.participants.count }
            if tally.sent > tally.refused { progress("\(tally.sent - tally.refused) decompression bomb(s) were accepted") }
            let result = LoadResult(
                clients: clients, rounds: history.count, parameters: layout.count, modelBytesFloat32: layout.count * 4,
                updateBytes: work.update.count,
                updatesAggregated: updates, updatesPerSecond: roundSeconds.isEmpty ? 0 : Double(updates) / roundSeconds.reduce(0, +),
                roundSeconds: roundSeconds,
                coordinatorPeakRSSBytes: peak, memoryBudgetBytes: 3 * layout.count * 4 + 100_000_000, refused: refused,
                bombsSent: tally.sent, bombsRefused: tally.refused, bombBytes: bomb.count, wallSeconds: wall, updatesDropped: dropped.value,
                coordinatorCPUSeconds: cpu, secureAggregation: secureAggregation, bytesUpPerClient: history.map(\.bytesUpPerClient),
                floodConnections: flood, floodCalls: floodCalls.value, floodRefusedForRate: floodRateRefused.value)
            print(json ? try result.json() : result.table())
        }
    }
}

extension CoordinatorCommand.Bench {
    /// Calls NextTask on `link` in a loop, 16 calls at a time, until cancelled: a client that
    /// never joined (each call refused), as a broken or hostile one would.
    static func flood(_ link: some FederationLink, calls: Tally, rateRefused: Tally) async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            _ = try await link.nextTask(lastRound: 0)
                        } catch let error as RPCError where error.code == .resourceExhausted {
                            rateRefused.add()
                        } catch {}
                        calls.add()
                    }
                }
            }
        }
    }
}

/// A count shared by the clients' tasks.
final class Tally: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

private func progress(_ line: String) {
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}
