import Dispatch
import FedAttnCodec
public import FedAttnCore
public import FedAttnModel
public import Foundation

/// What a participant says as it works, for a terminal or a log. Never carries silo data.
public enum ParticipantEvent: Sendable {
    case joined(JoinInfo)
    case training(round: Int, examples: Int)
    /// Local training progress within a round.
    case progress(round: Int, epoch: Int, epochs: Int, examplesDone: Int)
    case uploaded(round: Int, bytes: Int, loss: Double, seconds: Double)
    case evaluated(round: Int, examples: Int)
    /// The coordinator no longer wanted this update or evaluation (it arrived after its round
    /// closed, or the coordinator restarted meanwhile); the client carries on with its next task.
    case dropped(round: Int, reason: String)
    /// Nothing to do yet (the coordinator answered WAIT): the client is alive and connected.
    case waiting
    case done
}

/// A silo's client: joins, then does what the coordinator asks until it says done. It
/// trains with exactly the local-training code, and sends only deltas and evaluation
/// summaries: no example, id or prediction leaves the silo.
public struct Participant: Sendable {
    public let train: ExampleSet
    public let test: ExampleSet
    /// Threads for local training.
    public let threads: Int

    public init(train: ExampleSet, test: ExampleSet, threads: Int = 1) {
        self.train = train
        self.test = test
        self.threads = threads
    }

    /// Runs until the federation is done. `expectedModel` is the configuration the silo's
    /// data was read with; a coordinator with another one is refused before any training.
    public func run(
        link: any FederationLink, expectedModel: ModelConfig, events: @escaping @Sendable (ParticipantEvent) -> Void = { _ in }
    ) async throws {
        let trainCount = train.count
        func join() async throws -> JoinInfo {
            let info = try await link.join(protocolVersion: Coordinator.protocolVersion, trainExamples: trainCount)
            guard info.model == expectedModel else { throw ParticipantError.modelMismatch(coordinator: info.model, local: expectedModel) }
            events(.joined(info))
            return info
        }
        let info = try await join()
        var cached: (version: String, model: AttentionModel)?
        var lastRound = 0
        func model(_ version: String) async throws -> AttentionModel {
            if let cached, cached.version == version { return cached.model }
            let payload = try await link.downloadModel(version: version)
            let layout = AttentionModel.layout(for: info.model)
            let weights = try TensorPayload.decode(payload, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout))
            let loaded = try AttentionModel(config: info.model, parameters: weights.densified())
            cached = (version, loaded)
            return loaded
        }
        while true {
            let task: FederationTask
            do {
                task = try await link.nextTask(lastRound: lastRound)
            } catch let error as CoordinatorError where error.kind == .notJoined {
                // The coordinator restarted and no longer knows this silo: join again.
                _ = try await join()
                continue
            }
            switch task {
            case .train(let round, let version, let plan):
                let global = try await model(version)
                events(.training(round: round, examples: train.count))
                let (train, threads) = (self.train, self.threads)
                let result = await Self.offPool {
                    LocalRound.train(global: global, on: train, plan: plan, threads: threads) { epoch, done in
                        events(.progress(round: round, epoch: epoch, epochs: plan.epochs, examplesDone: done))
                    }
                }
                let payload = try TensorPayload.encode(result.delta, precision: .float16)
                try await Self.droppingIfUnwanted(round, events) {
                    _ = try await link.uploadUpdate(
                        round: round, baseVersion: version, examples: result.examples, trainSeconds: result.seconds, payload: payload)
                    events(.uploaded(round: round, bytes: payload.count, loss: result.meanLoss, seconds: result.seconds))
                }
                lastRound = round
            case .evaluate(let round, let version):
                let current = try await model(version)
                let (test, threads) = (self.test, self.threads)
                let summary = await Self.offPool { LocalRound.evaluate(current, on: test, threads: threads) }
                try await Self.droppingIfUnwanted(round, events) {
                    try await link.reportEvaluation(round: round, version: version, summary: summary)
                    events(.evaluated(round: round, examples: test.count))
                }
            case .wait(let retryAfter):
                events(.waiting)
                try await Task.sleep(for: retryAfter)
            case .done:
                events(.done)
                return
            }
        }
    }

    /// Runs `send`; a refusal as stale (the round closed) or as not joined (the coordinator
    /// restarted) is reported and dropped: the client goes on with its next task (joining
    /// again first when it must). Anything else is thrown.
    static func droppingIfUnwanted(_ round: Int, _ events: (ParticipantEvent) -> Void, _ send: () async throws -> Void) async throws {
        do {
            try await send()
        } catch let error as CoordinatorError where error.kind == .stale || error.kind == .notJoined {
            events(.dropped(round: round, reason: error.message))
        }
    }

    /// Runs CPU-heavy work on a Dispatch thread, so the cooperative pool that drives
    /// networking is never blocked by training.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}

public enum ParticipantError: Error, CustomStringConvertible {
    case modelMismatch(coordinator: ModelConfig, local: ModelConfig)

    public var description: String {
        switch self {
        case .modelMismatch(let coordinator, let local):
            "the coordinator trains a model with items \(coordinator.items), \(coordinator.strategies) strategies, d=\(coordinator.dim); "
                + "this silo's data was read for items \(local.items), \(local.strategies) strategies, d=\(local.dim)"
        }
    }
}
