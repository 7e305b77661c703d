import FedAttnFederation
import FedAttnModel
import FedAttnPrivacy
import Foundation
import Testing
import _FedAttnTestSupport

/// A silo's own privacy ledger: it refuses the round that would pass its budget, and the
/// rounds without DP-SGD it does not accept, and it remembers across a restart.
struct SiloPrivacyLedgerTests {
    static let plan = LocalTrainingPlan(epochs: 1, batchSize: 100, privacy: DPSGDConfig(noiseMultiplier: 1.25))

    @Test func theRoundThatWouldPassTheBudgetIsRefused() throws {
        // 1,000 examples, batch 100: q = 0.1, 10 steps a round at sigma 1.25 (exact in float32, as the plan carries it).
        var accountant = RDPAccountant()
        accountant.compose(samplingRate: 0.1, noiseMultiplier: 1.25, steps: 20)
        let twoRounds = accountant.epsilon(delta: 1e-3).epsilon
        let ledger = try SiloPrivacyLedger(budget: twoRounds * 1.01)
        for round in 1...2 {
            let entry = try #require(try ledger.check(round: round, plan: Self.plan, examples: 1_000))
            #expect(entry.spend.steps == 10 && entry.spend.samplingRate == 0.1 && entry.examples == 1_000)
            try ledger.record(entry)
        }
        #expect(abs(ledger.epsilon(examples: 1_000) - twoRounds) < 1e-12)
        #expect(throws: SiloPrivacyError.self) { try ledger.check(round: 3, plan: Self.plan, examples: 1_000) }
    }

    @Test func aSiloThatRequiresDPRefusesAPlainRound() throws {
        let ledger = try SiloPrivacyLedger(requirePrivacy: true)
        #expect(throws: SiloPrivacyError.privacyRequired(round: 4)) { try ledger.check(round: 4, plan: LocalTrainingPlan(), examples: 1_000) }
        #expect(try SiloPrivacyLedger().check(round: 4, plan: LocalTrainingPlan(), examples: 1_000) == nil)
    }

    /// A silo that requires secure aggregation refuses a plan without it before training.
    @Test func aSiloThatRequiresSecureAggregationRefusesAPlainRound() throws {
        let ledger = try SiloPrivacyLedger(requireSecureAggregation: true)
        #expect(throws: SiloPrivacyError.secureAggregationRequired(round: 2)) { try ledger.check(round: 2, plan: LocalTrainingPlan(), examples: 500) }
        var plan = LocalTrainingPlan()
        plan.secure = SecurePlan(id: 0, attempt: 1, session: 7, clients: 3, neighbours: [1, 2], threshold: 2, weight: 0.3, clip: 1, bits: 20)
        #expect(try ledger.check(round: 2, plan: plan, examples: 500) == nil)
    }

    @Test func theLedgerFileSurvivesARestartAndAForeignFileIsRefused() throws {
        let path = try Fixtures.temporaryFolder() + "/ledger.json"
        let first = try SiloPrivacyLedger(file: path)
        for round in 1...3 { try first.record(try #require(try first.check(round: round, plan: Self.plan, examples: 1_000))) }
        let restarted = try SiloPrivacyLedger(file: path)
        #expect(restarted.rounds == first.rounds && restarted.rounds.map(\.round) == [1, 2, 3])
        #expect(restarted.epsilon(examples: 1_000) == first.epsilon(examples: 1_000))
        let foreign = try Fixtures.writeTemporaryFile("ledger.json", "{\"not\": \"a ledger\"}")
        #expect(throws: SiloPrivacyError.self) { try SiloPrivacyLedger(file: foreign) }
    }
}
