package import Foundation

/// Everything the coordinator writes to its state folder besides the models themselves, in
/// the order it happened, with one retry policy: a write that fails stays first in line and
/// is tried again after `RoundStateMachine.storeBackoff` (the backoff new models are stored
/// with), and nothing behind it is written before it. Nothing is dropped: a privacy charge
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

        /// The write named for a log line.
        package var name: String {
            switch self {
            case .privacyCharges(let charges): "round \(charges.first?.round ?? 0)'s privacy charges"
            case .record(let record): "round \(record.round)'s record"
            case .knownRows(_, let round): "the rows trained up to round \(round)"
            case .keptRound(let round): "best.safetensors (round \(round), the kept one)"
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
    /// Failures in a row of the first pending write.
    package private(set) var failures = 0

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
        default: break
        }
        pending.append(write)
    }

    /// Writes what is pending, in order, through `write`, until one fails.
    package mutating func flush(_ write: (Write) throws -> Void) -> Outcome {
        while let next = pending.first {
            do {
                try write(next)
            } catch {
                failures += 1
                return .failed(
                    write: next.name, error: "\(error)", failures: failures, wait: RoundStateMachine.storeBackoff(afterFailures: failures))
            }
            pending.removeFirst()
        }
        defer { failures = 0 }
        return .stored(after: failures)
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
        }
    }
}
