import FedAttnModel
public import FedAttnPrivacy
import Foundation
import Synchronization

/// A silo's own account of the example-level privacy it has spent, kept on the silo's side:
/// the coordinator sets the noise, but the silo decides how much it spends. Each round
/// trained with DP-SGD adds its steps (Poisson rate, noise multiplier) to an RDP accountant;
/// a round that would take the silo past its budget is refused before it trains, and so is
/// a round without DP-SGD when the silo requires it. With a file, the rounds are written
/// after each one (and read back at start), so a restarted client still knows what it spent.
public final class SiloPrivacyLedger: Sendable {
    /// One round trained with DP-SGD, as the ledger file holds it: the silo's size then (its
    /// delta) and what the round spent.
    public struct Entry: Codable, Sendable, Equatable {
        public let round: Int
        public let examples: Int
        public let spend: PrivacySpend
    }

    /// The most epsilon the silo will spend; nil: no limit.
    public let budget: Double?
    /// Refuse rounds without example-level DP-SGD.
    public let requirePrivacy: Bool
    /// Refuse rounds without secure aggregation (before training: nothing is sent).
    public let requireSecureAggregation: Bool
    /// delta of the silo's guarantee; nil: 1 / its training examples.
    public let delta: Double?
    private let file: URL?
    private let entries: Mutex<[Entry]>

    /// A ledger in memory only, with no budget and no requirement: it counts, refuses nothing.
    public convenience init() {
        self.init(budget: nil, requirePrivacy: false, requireSecureAggregation: false, delta: nil, file: nil, loaded: [])
    }

    /// - Throws: a `SiloPrivacyError` when `file` exists but does not hold a ledger.
    public convenience init(
        budget: Double? = nil, requirePrivacy: Bool = false, requireSecureAggregation: Bool = false, delta: Double? = nil, file: String? = nil
    ) throws {
        var loaded: [Entry] = []
        if let file, FileManager.default.fileExists(atPath: file) {
            do {
                loaded = try JSONDecoder().decode([Entry].self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw SiloPrivacyError.unreadableLedger(path: file, reason: "not the JSON list of rounds fedattn-client join writes")
            }
        }
        self.init(
            budget: budget, requirePrivacy: requirePrivacy, requireSecureAggregation: requireSecureAggregation, delta: delta, file: file,
            loaded: loaded)
    }

    private init(budget: Double?, requirePrivacy: Bool, requireSecureAggregation: Bool, delta: Double?, file: String?, loaded: [Entry]) {
        self.budget = budget
        self.requirePrivacy = requirePrivacy
        self.requireSecureAggregation = requireSecureAggregation
        self.delta = delta
        self.file = file.map { URL(fileURLWithPath: $0) }
        entries = Mutex(loaded)
    }

    /// Rounds recorded so far.
    public var rounds: [Entry] { entries.withLock { $0 } }

    /// The epsilon spent by the recorded rounds, plus `extra` (0 with none), at the delta of a
    /// silo of `examples` examples (the smallest size recorded, if smaller: the weaker delta
    /// is never taken).
    public func epsilon(examples: Int, adding extra: Entry? = nil) -> Double {
        let all = rounds + (extra.map { [$0] } ?? [])
        let smallest = all.map(\.examples).min().map { min($0, examples) } ?? examples
        return PrivacySpend.epsilon(of: all.map(\.spend), delta: delta(examples: smallest))
    }

    /// delta for a silo of `examples` examples: as set, or `PrivacySpend.defaultExampleDelta`.
    public func delta(examples: Int) -> Double { delta ?? PrivacySpend.defaultExampleDelta(examples: examples) }

    /// What training round `round` under `plan` on `examples` examples would add, or nil
    /// without DP-SGD. Throws when the silo must refuse the round.
    public func check(round: Int, plan: LocalTrainingPlan, examples: Int) throws(SiloPrivacyError) -> Entry? {
        if requireSecureAggregation && plan.secure == nil { throw .secureAggregationRequired(round: round) }
        guard let privacy = plan.privacy, privacy.noiseMultiplier > 0 else {
            if requirePrivacy { throw .privacyRequired(round: round) }
            return nil
        }
        let entry = Entry(
            round: round, examples: examples,
            spend: .dpSGD(examples: examples, batchSize: plan.batchSize, epochs: plan.epochs, noiseMultiplier: Double(privacy.noiseMultiplier)))
        if let budget {
            let after = epsilon(examples: examples, adding: entry)
            guard after <= budget * (1 + 1e-9) else {
                throw .overBudget(round: round, spent: epsilon(examples: examples), after: after, budget: budget)
            }
        }
        return entry
    }

    /// Records a round trained (and writes the file, if any).
    public func record(_ entry: Entry) throws {
        let all = entries.withLock { entries in
            entries.append(entry)
            return entries
        }
        if let file { try JSONEncoder().encode(all).write(to: file, options: .atomic) }
    }
}

/// Why a silo refused to train a round.
public enum SiloPrivacyError: Error, CustomStringConvertible, Equatable {
    case privacyRequired(round: Int)
    case secureAggregationRequired(round: Int)
    case overBudget(round: Int, spent: Double, after: Double, budget: Double)
    case unreadableLedger(path: String, reason: String)

    public var description: String {
        switch self {
        case .privacyRequired(let round):
            "round \(round): the coordinator asks for training without example-level DP-SGD (or without noise), and this silo requires it (--require-dp): leaving"
        case .secureAggregationRequired(let round):
            "round \(round): the coordinator asks for an update without secure aggregation, and this silo requires it (--require-secure-aggregation): leaving before training, nothing sent"
        case .overBudget(let round, let spent, let after, let budget):
            "round \(round): this silo has spent epsilon \((spent * 1_000).rounded() / 1_000); the round would take it to "
                + "\((after * 1_000).rounded() / 1_000), over its budget (--epsilon-budget \(budget)): leaving"
        case .unreadableLedger(let path, let reason): "\(path): not a privacy ledger: \(reason)"
        }
    }
}
