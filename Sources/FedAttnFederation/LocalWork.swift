import Dispatch
import FedAttnCodec
public import FedAttnCore
public import FedAttnModel
public import Foundation
import Synchronization

/// A global model as a participant downloaded it: the payload's bytes, the whole model or
/// a delta from a version the participant's work holds. Nothing is decoded until the work
/// asks (a load generator never does).
public final class GlobalModel: Sendable {
    /// The version's name (see `ModelDigest`).
    public let version: String
    /// The payload (protocol `TensorPayload`), as it arrived.
    public let payload: Data
    /// The version the payload is a delta from (float32Step), or nil for the whole model.
    public let deltaFrom: String?
    /// The model's shape, as the coordinator announced it at Join.
    public let config: ModelConfig

    public init(version: String, payload: Data, deltaFrom: String? = nil, config: ModelConfig) {
        self.version = version
        self.payload = payload
        self.deltaFrom = deltaFrom
        self.config = config
    }
}

/// An update ready to send: the delta and what the upload declares with it. The participant
/// encodes the delta for a plain upload (float16, protocol `TensorPayload`) or sums it through
/// the secure phases as it is.
public struct LocalUpdate: Sendable {
    /// What the update moves: the delta (local minus global), or bytes already encoded.
    public enum Content: Sendable {
        /// The delta as training left it.
        case delta(SparseWeights)
        /// A delta already encoded (protocol `TensorPayload`): a load generator's prepared
        /// answer, sent as it is (decoded again only for a secure round).
        case encoded(Data)
    }

    /// The delta, or its encoding.
    public let content: Content
    /// Training examples the update was computed from (its weight in the average).
    public let examples: Int
    /// Seconds spent training.
    public let trainSeconds: Double
    /// Mean training loss of the last epoch (log loss, nats).
    public let meanLoss: Double
    /// With example-level DP-SGD: the epsilon this silo has spent so far, by its own ledger,
    /// and its delta.
    public var privacySpent: (epsilon: Double, delta: Double)? = nil
    /// The locally trained model's AUC on the silo's test split, before the federation
    /// averages it: for the silo's own log beside the federated model's. Never sent.
    public var localTestAUC: Double? = nil

    public init(delta: SparseWeights, examples: Int, trainSeconds: Double, meanLoss: Double) {
        self.init(content: .delta(delta), examples: examples, trainSeconds: trainSeconds, meanLoss: meanLoss)
    }

    public init(payload: Data, examples: Int, trainSeconds: Double, meanLoss: Double) {
        self.init(content: .encoded(payload), examples: examples, trainSeconds: trainSeconds, meanLoss: meanLoss)
    }

    init(content: Content, examples: Int, trainSeconds: Double, meanLoss: Double) {
        self.content = content
        self.examples = examples
        self.trainSeconds = trainSeconds
        self.meanLoss = meanLoss
    }

    /// The upload's payload: the delta in float16 (half the bytes of float32; the
    /// coordinator averages in float32), or the bytes as given.
    /// - Throws: `TensorPayloadError` when the delta cannot be encoded.
    public func payload() throws -> Data {
        switch content {
        case .delta(let delta): try TensorPayload.encode(delta, precision: .float16)
        case .encoded(let payload): payload
        }
    }

    /// The delta for the secure sums: as training left it, or decoded from the given bytes
    /// against `model`'s layout.
    /// - Throws: `TensorPayloadError` when given bytes do not decode.
    public func delta(model: ModelConfig) throws -> SparseWeights {
        switch content {
        case .delta(let delta): delta
        case .encoded(let payload):
            try TensorPayload.decode(
                payload, expecting: AttentionModel.layout(for: model), maxBytes: TensorPayload.maximumSize(of: AttentionModel.layout(for: model)))
        }
    }
}

/// What a participant does with its tasks on its own side. `Participant` speaks the
/// protocol (join, long poll, download, upload, report, re-join, drop what is stale); the
/// work decides what to send. A silo trains and evaluates on its data (`SiloWork`); a load
/// generator sends prepared answers without training.
public protocol LocalWork: Sendable {
    /// Training examples declared at Join; no update may claim more.
    var trainExamples: Int { get }
    /// The model version the work holds (a download may then be a delta from it), if any.
    var heldVersion: String? { get }
    /// Trains round `round` from `global` under `plan` and returns the update to send.
    /// `progress` gets (epoch, examples done in that epoch).
    func train(from global: GlobalModel, plan: LocalTrainingPlan, round: Int, progress: @escaping @Sendable (Int, Int) -> Void) async throws
        -> LocalUpdate
    /// Evaluates `global` on held-out examples: test, validation and ranking.
    func evaluate(_ global: GlobalModel) async throws -> EvaluationReport
    /// Whether the work wants the kept model when the federation ends (`keep`).
    var keepsModel: Bool { get }
    /// Keeps the federation's kept model (the round chosen by validation), at its end.
    func keep(_ kept: GlobalModel) async throws
    /// The items' interaction counts the work shares for the most-popular baseline, for a
    /// model of `model`'s item rows (nil: it declines, and gets no baseline).
    func popularityCounts(for model: ModelConfig) -> PopularityCounts?
    /// The counts the work puts in a secure round's indicator sum (protocol 11: the
    /// coordinator sees only their sum over the round's silos); nil: it declines, sends zeros
    /// and scores no baseline. By default what it would share in the clear.
    func secureSumCounts(for model: ModelConfig) -> PopularityCounts?
    /// The most-popular baseline by the federation's `pooled` counts, ranked on the work's
    /// test users exactly as `evaluate` ranks the model (nil: the work does not score it).
    func scorePopularity(_ pooled: PopularityCounts, model: ModelConfig) async throws -> RankingSums?
}

extension LocalWork {
    public var heldVersion: String? { nil }
    public var keepsModel: Bool { false }
    public func keep(_ kept: GlobalModel) async throws {}
    public func popularityCounts(for model: ModelConfig) -> PopularityCounts? { nil }
    public func secureSumCounts(for model: ModelConfig) -> PopularityCounts? { popularityCounts(for: model) }
    public func scorePopularity(_ pooled: PopularityCounts, model: ModelConfig) async throws -> RankingSums? { nil }
}

/// A silo's work: trains with exactly the local-training code and evaluates on its test
/// and validation examples and its ranking cases. It keeps the last global model between
/// rounds (`ModelReplica`), so a download can be a delta from it. Only the delta and the
/// evaluation's sums leave it; no example, id or prediction does.
public struct SiloWork: LocalWork {
    public let train: ExampleSet
    /// Held out of training, for choosing the round to keep (may be empty).
    public let validation: ExampleSet
    public let test: ExampleSet
    /// Leave-one-out ranking cases (may be empty).
    public let ranking: RankingSet
    /// The validation split's ranking cases, for model selection by ranking (may be empty).
    public let validationRanking: RankingSet
    /// Threads for training and evaluation.
    public let threads: Int
    /// The silo's own account of the privacy it spends.
    public let privacy: SiloPrivacyLedger
    /// Where the kept model is written when the federation ends (`.safetensors`), if anywhere.
    public let modelOut: String?
    /// Whether it shares its items' train-row counts for the most-popular baseline (false:
    /// `join --no-share-popularity`; it then gets no baseline).
    public let sharesPopularity: Bool
    /// Whether each round's trained model is also evaluated on the test split before
    /// averaging (`LocalUpdate.localTestAUC`, for `join`'s log): one more pass over the test
    /// split a round, which a simulation, printing none, does not pay.
    public let evaluatesLocalModel: Bool

    private let replica = ModelReplica()

    public init(
        train: ExampleSet, validation: ExampleSet = ExampleSet(), test: ExampleSet, ranking: RankingSet = RankingSet(),
        validationRanking: RankingSet = RankingSet(), threads: Int = 1, privacy: SiloPrivacyLedger? = nil, modelOut: String? = nil,
        sharesPopularity: Bool = true, evaluatesLocalModel: Bool = false
    ) {
        self.sharesPopularity = sharesPopularity
        self.evaluatesLocalModel = evaluatesLocalModel
        self.validationRanking = validationRanking
        self.privacy = privacy ?? SiloPrivacyLedger()
        self.modelOut = modelOut
        self.train = train
        self.validation = validation
        self.test = test
        self.ranking = ranking
        self.threads = threads
    }

    public var trainExamples: Int { train.count }
    public var heldVersion: String? { replica.version }

    /// Refuses (`SiloPrivacyError`) a round its privacy ledger does not allow.
    public func train(
        from global: GlobalModel, plan: LocalTrainingPlan, round: Int, progress: @escaping @Sendable (Int, Int) -> Void
    ) async throws -> LocalUpdate {
        let spending = try privacy.check(round: round, plan: plan, examples: train.count)
        // Trained in place and put back as it was: no copy of the model per round. The model
        // is lent inside the work so that the only reference to it is the trainer's.
        let (train, threads, replica) = (self.train, self.threads, self.replica)
        let localTest = evaluatesLocalModel ? self.test : nil
        let result = try await Self.offPool { () -> Result<LocalRoundResult, any Error> in
            Result {
                let (result, restored) = LocalRound.trainRestoring(
                    try replica.lend(for: global), on: train, plan: plan, threads: threads, evaluatingOn: localTest
                ) { progress($0, $1) }
                replica.giveBack(restored, version: global.version)
                return result
            }
        }.get()
        var update = LocalUpdate(delta: result.delta, examples: result.examples, trainSeconds: result.seconds, meanLoss: result.meanLoss)
        update.localTestAUC = result.localTest?.auc
        if let spending {
            try privacy.record(spending)
            update.privacySpent = (privacy.epsilon(examples: train.count), privacy.delta(examples: train.count))
        }
        return update
    }

    public var keepsModel: Bool { modelOut != nil }

    /// Writes the kept model to `modelOut` (atomically), checked against its version first.
    public func keep(_ kept: GlobalModel) async throws {
        guard let modelOut else { return }
        try ModelFile.save(try replica.model(for: kept), to: modelOut)
    }

    public func evaluate(_ global: GlobalModel) async throws -> EvaluationReport {
        let model = try replica.model(for: global)
        let (test, validation, ranking, threads) = (self.test, self.validation, self.ranking, self.threads)
        let validationRanking = self.validationRanking
        return await Self.offPool {
            EvaluationReport(
                test: LocalRound.evaluate(model, on: test, threads: threads),
                validation: LocalRound.evaluate(model, on: validation, threads: threads),
                ranking: model.rank(ranking, threads: threads),
                validationRanking: model.rank(validationRanking, threads: threads, wholeCatalogue: false))
        }
    }

    /// Its train rows per item (each row once, any label: what `simulate` counts per silo).
    /// A silo that requires secure aggregation or differential privacy, or keeps a privacy
    /// budget of its own, declines: its counts would leave it in the clear, outside any
    /// budget, whatever the coordinator runs.
    public func popularityCounts(for model: ModelConfig) -> PopularityCounts? {
        trainCounts(for: model, declining: privacy.requireSecureAggregation)
    }

    /// The same counts for a secure sum: a silo that requires secure aggregation has it, and
    /// shares; one that requires differential privacy or keeps a budget of its own still
    /// declines (exact counts spend no budget, in a sum or not).
    public func secureSumCounts(for model: ModelConfig) -> PopularityCounts? { trainCounts(for: model, declining: false) }

    /// Its train rows per item, unless it declines: by choice, by `declining`, or because it
    /// requires differential privacy or keeps a budget of its own.
    private func trainCounts(for model: ModelConfig, declining: Bool) -> PopularityCounts? {
        let guarded = declining || privacy.requirePrivacy || privacy.budget != nil
        return sharesPopularity && !guarded ? PopularityCounts(rows: model.items.rowCount, train: train) : nil
    }

    /// The most popular items by `pooled` counts, ranked on its test users with the model's
    /// protocol: the same targets, negatives (seed 0) and catalogue as `evaluate`'s. Zeros
    /// when it ranks no user (`--no-ranking`), so that the counts are not sent again.
    public func scorePopularity(_ pooled: PopularityCounts, model: ModelConfig) async throws -> RankingSums? {
        guard sharesPopularity else { return nil }
        let (ranking, rows, items) = (self.ranking, model.items.rowCount, model.items)
        return await Self.offPool {
            Popularity(rows: rows, counts: pooled).rank(ranking, catalogue: ranking.catalogue(for: items))
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
