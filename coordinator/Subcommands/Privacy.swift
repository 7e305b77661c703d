import ArgumentParser
import FedAttnPrivacy
import Foundation

extension CoordinatorCommand {
    struct Privacy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The (epsilon, delta) of a Poisson-subsampled Gaussian mechanism run for some steps (RDP accountant), or the noise a target epsilon needs.",
            discussion: """
                Give --noise-multiplier for the epsilon it spends, or --epsilon for the smallest noise multiplier that stays within it. \
                Per record (example-level DP-SGD: q = batch / examples, one step per batch) or per silo (client-level DP-FedAvg: q = \
                silos per round / silos, one step per round).
                """)

        @Option(name: .long, help: "The probability each record (example or silo) is in a step's sample, in (0, 1].") var samplingRate: Double
        @Option(name: .long, help: "The steps (batches, or rounds) composed.") var steps: Int
        @Option(name: .long, help: "delta, in (0, 1).") var delta: Double
        @Option(name: .long, help: "The noise standard deviation over the clipping norm.") var noiseMultiplier: Double?
        @Option(name: .long, help: "A target epsilon: print the noise multiplier it needs.") var epsilon: Double?
        @Flag(name: .long, help: "Print one JSON object instead of a line.") var json = false

        func validate() throws {
            guard samplingRate > 0, samplingRate <= 1 else { throw ValidationError("--sampling-rate \(samplingRate) must lie in (0, 1]") }
            guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
            guard delta > 0, delta < 1 else { throw ValidationError("--delta \(delta) must lie in (0, 1)") }
            guard (noiseMultiplier == nil) != (epsilon == nil) else { throw ValidationError("give either --noise-multiplier or --epsilon") }
            if let noiseMultiplier, !(noiseMultiplier > 0 && noiseMultiplier.isFinite) {
                throw ValidationError("--noise-multiplier \(noiseMultiplier) must be a positive number")
            }
            if let epsilon, !(epsilon > 0 && epsilon.isFinite) { throw ValidationError("--epsilon \(epsilon) must be a positive number") }
        }

        func run() async throws {
            let sigma: Double
            if let noiseMultiplier {
                sigma = noiseMultiplier
            } else {
                guard let found = RDPAccountant.noiseMultiplier(forEpsilon: epsilon!, delta: delta, samplingRate: samplingRate, steps: steps) else {
                    throw ValidationError(
                        "no noise multiplier up to 10,000 keeps \(steps) steps at sampling rate \(samplingRate) within epsilon \(epsilon!)")
                }
                sigma = found
            }
            var accountant = RDPAccountant()
            accountant.compose(samplingRate: samplingRate, noiseMultiplier: sigma, steps: steps)
            let (spent, order) = accountant.epsilon(delta: delta)
            if json {
                let object: [String: Any] = [
                    "sampling_rate": samplingRate, "steps": steps, "delta": delta, "noise_multiplier": sigma, "epsilon": spent, "rdp_order": order,
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(
                    String(
                        format: "epsilon %.4f at delta %g (noise multiplier %.4f, sampling rate %g, %@ steps; best Rényi order %g)", spent, delta,
                        sigma,
                        samplingRate, "\(steps)", order))
            }
        }
    }
}
