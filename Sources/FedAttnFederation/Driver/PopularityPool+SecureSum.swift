import FedAttnModel

// The most-popular baseline under secure aggregation (protocol 11): no counts in the clear;
// each silo puts its counts (or zeros, and a shared flag of 0, declining) in the indicator
// vector of a secure round, and the coordinator unmasks their sum once.
extension PopularityPool {
    /// Whether the secure round `round` (its clients and the training examples each declared
    /// at Join, `declared`) carries the silos' item counts in its indicator sum: under the
    /// secure sum, while the pool is open (or a sum of them under way in this process failed
    /// before it was unmasked: a retry), when every client of the round joined with protocol
    /// 11 (an older one would send a vector of the wrong length), at least `minimumSilos` of
    /// them have not declined (fewer sharers would hand the coordinator a sum of too few silos'
    /// counts), and their declared examples add up to less than 2^32 (each count is at most
    /// its silo's examples, so the 32-bit ring holds every sum; otherwise the pool closes,
    /// `.tooManyExamples`). When it carries them the pool is `.summing`, which the caller
    /// stores before the round's first task goes out.
    /// - Returns: whether it carries them, and a line for the log (nil: nothing to say).
    mutating func secureRoundCarriesCounts(round: Int, declared: [String: Int]) -> (carries: Bool, line: String?) {
        guard policy == .secureSum, status == .pooling || status == .summing else { return (false, nil) }
        let older = declared.keys.filter { (protocols[$0] ?? 0) < Coordinator.secureCountsProtocol }.sorted()
        guard older.isEmpty else {
            let named = older.map { client -> String in
                let version = protocols[client].map { String($0) } ?? "unknown"
                return "\(client) (protocol \(version))"
            }.joined(separator: ", ")
            return (false, "round \(round): its indicator sum carries no popularity counts: \(named) cannot put counts in it")
        }
        let sharers = declared.keys.filter { !declined.contains($0) }.count
        guard sharers >= minimumSilos else {
            return (
                false,
                "round \(round): its indicator sum carries no popularity counts: \(PopularityBaseline.silos(sharers)) of it share them, fewer than the \(minimumSilos) the pool needs"
            )
        }
        // Each declared count is at most 2^40 and a round has at most 65,535 clients: no overflow.
        let total = declared.values.reduce(0, +)
        guard total <= Int(UInt32.max) else {
            status = .tooManyExamples
            return (
                false,
                "popularity: the \(declared.count) silos of round \(round) declared \(total) training examples in all, more than the secure sum's 32-bit counts hold; no most-popular baseline"
            )
        }
        status = .summing
        return (true, "round \(round): its indicator sum carries the silos' item counts (a secure sum of popularity)")
    }

    /// Closes the pool from the secure sum of round `round`: `counts`, each item row's train rows
    /// (V elements) summed over the silos `summedOver`, of which `shared` shared (their flags'
    /// sum); `declared`, the training examples those silos declared at Join, added. Refuses a sum
    /// honest silos could not send (shared flags other than the silos of the sum that did not
    /// decline, a count of row 0, counts adding up past `declared`, counts without a sharer:
    /// `.implausibleSum`); with fewer sharers than `minimumSilos` (some dropped out before
    /// masking) the counts are dropped, not kept (`.tooFewSilos`). Nothing of one silo is kept:
    /// the sum is all there is.
    /// - Returns: a line for the log (nil when no sum of the counts was under way).
    mutating func closeSecure(counts: [UInt32], shared: UInt32, summedOver silos: [String], declared: Int, round: Int) -> String? {
        guard policy == .secureSum, status == .summing else { return nil }
        summedOver = Set(silos)
        sharedBy = Int(shared)
        // At most 2^18 items of at most 2^32 - 1 each: no overflow.
        let total = counts.reduce(0) { $0 + Int($1) }
        let named = counts.indices.filter { counts[$0] != 0 }
        let from = "the secure sum of round \(round) over \(PopularityBaseline.silos(silos.count))"
        // Declines are said in the clear: a flag other than 0 or 1 (one silo passing for several) shows.
        let sharers = silos.filter { !declined.contains($0) }.count
        guard Int(shared) == sharers, (counts.first ?? 0) == 0, total <= declared, shared > 0 || total == 0 else {
            status = .implausibleSum
            sharedBy = 0
            return
                "popularity: \(from) is not one honest silos send (\(shared) shared flags from \(sharers) silos that did not decline, \(total) train rows of \(declared) declared, row 0 counting \(counts.first ?? 0)); no most-popular baseline"
        }
        guard shared > 0 else {
            status = .noCounts
            return "popularity: \(from): no silo shared its item counts; no most-popular baseline"
        }
        guard Int(shared) >= minimumSilos else {
            status = .tooFewSilos
            return
                "popularity: \(from): only \(PopularityBaseline.silos(Int(shared))) shared item counts, fewer than the \(minimumSilos) the pool needs; the counts are dropped, no most-popular baseline"
        }
        items = named.count
        pooled = PopularityCounts(items: named.map { Int32($0) }, counts: named.map { Int(counts[$0]) })
        status = .pooled
        return "popularity: item counts of \(PopularityBaseline.silos(Int(shared))) summed securely in \(from) (\(named.count) items)"
    }
}
