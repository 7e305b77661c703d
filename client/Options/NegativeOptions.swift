import ArgumentParser
import FedAttnModel

/// Training to rank (`NegativeSampling`): sampled negatives beside each clicked row.
struct NegativeOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Sampled negatives per clicked train row: items the user has no train row of, labelled 0 (0: the labelled rows alone).")
    var negatives = NegativeSampling().count

    @Option(
        name: .long,
        help: "Negatives are drawn with probability proportional to (train rows of the item)^X: 0 uniform, 1 by popularity.")
    var negativeExponent = NegativeSampling().exponent

    var sampling: NegativeSampling { NegativeSampling(count: negatives, exponent: negativeExponent) }

    func validate() throws {
        if let problem = sampling.problem { throw ValidationError("--negatives / --negative-exponent: \(problem)") }
    }
}
