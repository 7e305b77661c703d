package import FedAttnModel
package import Foundation

/// Everything the coordinator writes to its state folder besides the models themselves, in
/// the order it happened, with one retry policy: a write that fails stays first in line and
/// is tried again after `RoundStateMachine.storeBackoff` (the backoff new models are stored
/// with), and nothing behind it is written before it (but for the kept round's link, which
/// holds nothing back). Nothing is dropped: a privacy charge
/// that cannot be stored yet is kept and written once the folder takes it, so a restart after
/// that counts every silo's spend in full.
package struct Journal {
    /// One write to the state folder.
    package enum Write: Sendable {
        /// What a round's participants were charged (DP-SGD, DP-FedAvg), at the round's start.
        case privacyCharges([PrivacyCharge])
        /// A round's record, once it is evaluated.
        case record(RoundRecord)
        /// The item rows some silo has trained (secure aggregation): the newest bitmap wins.
        case knownRows(Data, round: Int)
        /// The round kept by validation (`best.safetensors`): the newest wins.
        case keptRound(Int)
        /// The most-popular baseline's pool, once closed: the newest wins.
        case popularityPool(StoredPopularity)
        /// A silo's most-popular baseline sums, sent with its evaluation of `round`.
        case popularitySums(client: String, round: Int, sums: RankingSums)

        /// The write named for a log line.
        package var name: String {
            switch self {
            case .privacyCharges(let charges): "round \(charges.first?.round ?? 0)'s privacy charges"
            case .record(let record): "round \(record.round)'s record"
            case .knownRows(_, let round): "the rows trained up to round \(round)"
            case .keptRound(let round): "best.safetensors (round \(round), the kept one)"
            case .popularityPool: "the most-popular baseline's pooled counts"
            case .popularitySums(let client, let round, _): "\(client)'s most-popular baseline sums (round \(round))"
            }
        }
    }

    /// How a flush went.
    package enum Outcome: Equatable {
        /// Every pending write is stored; `after` failures preceded it (0: none).
        case stored(after: Int)
        /// `write` failed (`failures` in a row, counting this one): try again after `wait`.
        case failed(write: String, error: String, failures: Int, wait: Duration)
    }

    package private(set) var pending: [Write] = []

    package init() {}
    /// Failures in a row of the write that fails (`failing`).
    package private(set) var failures = 0
    private var failing: String?

    /// Queues `write`; a newer bitmap of known rows or kept round replaces one still pending.
    package mutating func append(_ write: Write) {
        switch write {
        case .knownRows:
            if let index = pending.firstIndex(where: { if case .knownRows = $0 { true } else { false } }) {
                pending[index] = write
                return
            }
        case .keptRound:
            if let index = pending.firstIndex(where: { if case .keptRound = $0 { true } else { false } }) {
                pending[index] = write
                return
            }
        case .popularityPool:
            if let index = pending.firstIndex(where: { if case .popularityPool = $0 { true } else { false } }) {
                pending[index] = write
                return
            }
        default: break
        }
        pending.append(write)
    }

    /// Writes what is pending, in order, through `write`, until one fails. The kept round's
    /// link never holds the rest back: the newest wins and a restart links it again, so a
    /// folder that cannot take it (no hard links) must not keep records and charges waiting.
    package mutating func flush(_ write: (Write) throws -> Void) -> Outcome {
        var index = 0
        var failed: (write: String, error: String)?
        while index < pending.count {
            let next = pending[index]
            do {
                try write(next)
                pending.remove(at: index)
            } catch {
                failed = failed ?? (next.name, "\(error)")
                guard case .keptRound = next else { break }
                index += 1
            }
        }
        guard let failed else {
            defer { (failures, failing) = (0, nil) }
            return .stored(after: failures)
        }
        // A streak is one write failing again and again: another write failing starts a new one.
        failures = failing == failed.write ? failures + 1 : 1
        failing = failed.write
        return .failed(write: failed.write, error: failed.error, failures: failures, wait: RoundStateMachine.storeBackoff(afterFailures: failures))
    }
}

extension StateStore {
    /// Stores one journal write.
    func store(_ write: Journal.Write) throws {
        switch write {
        case .privacyCharges(let charges): try recordPrivacyCharges(charges)
        case .record(let record): try recordEvaluation(record)
        case .knownRows(let bitmap, _): try storeSecureRows(bitmap)
        case .keptRound(let round): try keepBest(round: round)
        case .popularityPool(let pool): try storePopularityPool(pool)
        case .popularitySums(let client, let round, let sums): try storePopularitySums(client: client, round: round, sums: sums)
        }
    }
}
