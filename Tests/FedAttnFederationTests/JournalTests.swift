import FedAttnFederation
import FedAttnPrivacy
import Foundation
import Testing

/// The coordinator's journal: what it writes to the state folder besides models, in order,
/// nothing dropped while the folder refuses writes.
struct JournalTests {
    struct DiskFull: Error {}

    static func charge(_ client: String, round: Int) -> Journal.Write {
        .privacyCharges([
            PrivacyCharge(
                client: client, round: round, attempt: 1, examples: 100, spend: PrivacySpend(samplingRate: 0.1, noiseMultiplier: 1, steps: 10))
        ])
    }

    /// The writes' names as a store would have seen them.
    static func names(_ writes: [Journal.Write]) -> [String] { writes.map(\.name) }

    @Test func aFailingWriteHoldsWhatFollowsAndNothingIsLost() {
        var journal = Journal()
        var stored: [Journal.Write] = []
        var refusing = true
        func store(_ write: Journal.Write) throws {
            if refusing { throw DiskFull() }
            stored.append(write)
        }
        journal.append(Self.charge("a", round: 1))
        journal.append(.keptRound(1))
        journal.append(Self.charge("a", round: 2))
        // Refused three times: each time the first write is tried again after a longer wait,
        // and nothing behind it is written first.
        var waits: [Duration] = []
        for failures in 1...3 {
            guard case .failed(_, _, let count, let wait) = journal.flush(store) else {
                Issue.record("a refused write reported as stored")
                return
            }
            #expect(count == failures)
            waits.append(wait)
        }
        #expect(waits == (1...3).map { RoundStateMachine.storeBackoff(afterFailures: $0) })
        #expect(waits[0] < waits[1] && waits[1] < waits[2])
        #expect(stored.isEmpty && journal.pending.count == 3)
        // The folder takes writes again: all of them, in order.
        refusing = false
        #expect(journal.flush(store) == .stored(after: 3))
        #expect(Self.names(stored) == ["round 1's privacy charges", "best.safetensors (round 1, the kept one)", "round 2's privacy charges"])
        #expect(journal.pending.isEmpty && journal.failures == 0)
    }

    @Test func aNewerKeptRoundOrRowBitmapReplacesOneStillPending() {
        var journal = Journal()
        journal.append(.keptRound(1))
        journal.append(.knownRows(Data([1]), round: 1))
        journal.append(Self.charge("a", round: 2))
        journal.append(.keptRound(2))
        journal.append(.knownRows(Data([3]), round: 2))
        #expect(
            Self.names(journal.pending) == [
                "best.safetensors (round 2, the kept one)", "the rows trained up to round 2", "round 2's privacy charges",
            ])
    }

    /// A folder that cannot link best.safetensors (no hard links) must not hold records and
    /// privacy charges back: the kept round is retried on its own, the rest is written.
    @Test func aKeptRoundThatCannotBeLinkedHoldsNothingBack() {
        var journal = Journal()
        var stored: [String] = []
        func store(_ write: Journal.Write) throws {
            if case .keptRound = write { throw DiskFull() }
            stored.append(write.name)
        }
        journal.append(.keptRound(1))
        journal.append(Self.charge("a", round: 2))
        guard case .failed(let what, _, 1, _) = journal.flush(store) else {
            Issue.record("the failing link was not reported")
            return
        }
        #expect(what == "best.safetensors (round 1, the kept one)")
        #expect(stored == ["round 2's privacy charges"])
        #expect(Self.names(journal.pending) == ["best.safetensors (round 1, the kept one)"])
        // Another write failing next starts a streak of its own.
        journal.append(Self.charge("a", round: 3))
        guard case .failed(_, _, 2, _) = journal.flush(store) else {
            Issue.record("the kept round's second failure was not counted")
            return
        }
        #expect(stored == ["round 2's privacy charges", "round 3's privacy charges"])
    }
}
