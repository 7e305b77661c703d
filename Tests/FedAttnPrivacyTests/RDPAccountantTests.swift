import FedAttnPrivacy
import Foundation
import Testing
import _FedAttnTestSupport

/// The accountant against Google's `dp-accounting` (its RdpAccountant, the same orders) on a
/// grid of sampling rates, noise multipliers, steps and deltas.
struct RDPAccountantTests {
    static let grid: [(q: Double, sigma: Double, steps: Int, delta: Double)] = [0.001, 0.01, 0.1, 1].flatMap { q in
        [0.6, 1.0, 2.0, 5.0].flatMap { sigma in [1, 100, 10_000].flatMap { steps in [1e-5, 1e-3].map { (q, sigma, steps, $0) } } }
    }

    @Test(.enabled(if: ProcessRunner.pythonHasDPAccounting, "needs python3 with dp-accounting (make deps installs it)"))
    func epsilonMatchesGooglesDPAccountingWithinOnePercent() throws {
        let script = """
            import json, sys, dp_accounting
            from dp_accounting.rdp import rdp_privacy_accountant as r
            out = []
            for q, sigma, steps, delta in json.loads(sys.argv[1]):
                acc = r.RdpAccountant()
                acc.compose(dp_accounting.SelfComposedDpEvent(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps))
                out.append(acc.get_epsilon(delta))
            print(json.dumps(out))
            """
        let grid = "[" + Self.grid.map { "[\($0.q), \($0.sigma), \($0.steps), \($0.delta)]" }.joined(separator: ",") + "]"
        let run = try ProcessRunner.run(ProcessRunner.which("python3")!, ["-c", script, grid])
        #expect(run.status == 0, "\(run.standardError)")
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [Double])
        #expect(reference.count == Self.grid.count)
        var worst = 0.0
        for (point, expected) in zip(Self.grid, reference) {
            var accountant = RDPAccountant()
            accountant.compose(samplingRate: point.q, noiseMultiplier: point.sigma, steps: point.steps)
            let got = accountant.epsilon(delta: point.delta).epsilon
            let relative = expected == 0 ? abs(got) : abs(got - expected) / expected
            worst = max(worst, relative)
            #expect(relative < 0.01, "q \(point.q), sigma \(point.sigma), steps \(point.steps), delta \(point.delta): \(got) vs \(expected)")
        }
        print("RDP accountant: largest relative difference from dp-accounting over \(Self.grid.count) points: \(worst)")
    }

    @Test func aTargetEpsilonBecomesTheSmallestNoiseMultiplierThatMeetsIt() throws {
        // 1,000 steps at q = 0.01 with sigma 1.1 spend epsilon 1.7118 at delta 1e-5 (dp-accounting agrees).
        let sigma = try #require(RDPAccountant.noiseMultiplier(forEpsilon: 1.7118, delta: 1e-5, samplingRate: 0.01, steps: 1_000))
        #expect(abs(sigma - 1.1) < 0.002, "\(sigma)")
        var accountant = RDPAccountant()
        accountant.compose(samplingRate: 0.01, noiseMultiplier: sigma, steps: 1_000)
        #expect(accountant.epsilon(delta: 1e-5).epsilon <= 1.7118)
        #expect(RDPAccountant.noiseMultiplier(forEpsilon: 1e-6, delta: 1e-9, samplingRate: 1, steps: 1_000_000) == nil)
    }

    @Test func moreStepsOrLessNoiseCostMorePrivacy() {
        func epsilon(_ q: Double, _ sigma: Double, _ steps: Int) -> Double {
            var accountant = RDPAccountant()
            accountant.compose(samplingRate: q, noiseMultiplier: sigma, steps: steps)
            return accountant.epsilon(delta: 1e-5).epsilon
        }
        #expect(epsilon(0.01, 1.1, 1_000) < epsilon(0.01, 1.1, 2_000))
        #expect(epsilon(0.01, 2, 1_000) < epsilon(0.01, 1.1, 1_000))
        #expect(epsilon(0.01, 1.1, 1_000) < epsilon(0.02, 1.1, 1_000))
        #expect(epsilon(0, 1.1, 1_000) == 0)
        // The full-batch Gaussian mechanism's RDP is alpha / (2 sigma^2): one step at sigma 1.
        var full = RDPAccountant(orders: [2])
        full.compose(samplingRate: 1, noiseMultiplier: 1, steps: 1)
        #expect(full.rdp == [1])
    }
}
