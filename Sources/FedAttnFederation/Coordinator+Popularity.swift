import FedAttnCore
public import FedAttnModel
import Logging

// The most-popular baseline: the silos' item counts pooled at Join, closed as the first
// evaluation begins (under secure aggregation: summed securely in a secure round's indicator
// sum, closed as that sum is unmasked), and the sums they send back (`PopularityPool` holds
// the rules).
extension Coordinator {
    /// Whether this federation pools the silos' item counts for the most-popular baseline, how,
    /// or why not.
    public nonisolated var popularityPolicy: PopularityPolicy { PopularityPolicy(config) }

    /// What a client joining with `protocolVersion` is told of it at Join
    /// (`PopularityPolicy.told(protocolVersion:)`: a client of 10 hears of no secure sum).
    public nonisolated func popularityPolicy(protocolVersion: UInt32) -> PopularityPolicy {
        popularityPolicy.told(protocolVersion: protocolVersion)
    }

    /// Takes `client`'s item counts for the most-popular baseline (nil: it declines, and gets no
    /// baseline), once: a silo's first answer counts, a later one changes nothing.
    /// - Returns: what the client is told, and whether its counts went into the pool (they do
    ///   until the federation's first evaluation begins).
    /// - Throws: `.notJoined`; `.invalidRequest` naming the client and what is wrong (no counts
    ///   pooled here, a client of protocol 9, an item out of order or past the table, a count
    ///   of 0, counts adding up past what it declared at Join, too many items).
    @discardableResult
    public func sharePopularity(client: String, counts: PopularityCounts?) throws(CoordinatorError) -> (pooled: Bool, message: String) {
        guard let declared = machine.declaredExamples(of: client) else { throw .notJoined(client) }
        let before = popularity.stored
        do {
            let answer = try popularity.share(counts, from: client, declared: declared, rows: modelConfig.items.rowCount)
            logger.info("popularity: \(answer.message)")
            storePopularityPoolIfChanged(since: before)
            changes.notify()
            return answer
        } catch {
            logger.warning("\(error.message); it is left out of the most-popular baseline")
            throw error
        }
    }

    /// After the pool closed, a silo declining or a client of an older protocol joining changes
    /// what the folder says of it: stored again.
    func storePopularityPoolIfChanged(since before: StoredPopularity) {
        guard popularity.isClosed, popularity.policy == .on || popularity.policy == .secureSum else { return }
        let now = popularity.stored
        guard now.declined != before.declined || now.oldProtocol != before.oldProtocol else { return }
        write(.popularityPool(now))
    }

    /// Closes the most-popular baseline's pool as the first evaluation begins, and stores it.
    func closePopularityPool() {
        guard let line = popularity.close() else { return }
        logger.notice("\(line)")
        write(.popularityPool(popularity.stored))
    }

    /// Whether the secure round of `plan` carries the silos' item counts in its indicator sum
    /// (`PopularityPool.secureRoundCarriesCounts`: under the secure sum, until the pool closes,
    /// when every client of the round speaks protocol 11); logs why not, and stores a pool
    /// that closes for it.
    func secureRoundCarriesCounts(_ plan: SecureRoundPlan) -> Bool {
        let before = popularity.status
        let decided = popularity.secureRoundCarriesCounts(round: plan.round, declared: plan.examples)
        if let line = decided.line { logger.info("\(line)") }
        guard popularity.status != before else { return decided.carries }
        // The first sum of the counts: on disk before any task of it goes out, so that a restart
        // never sums them a second time (`PopularityBaseline.Status.interrupted`).
        write(.popularityPool(popularity.stored))
        guard decided.carries, store != nil, !journal.pending.isEmpty else { return decided.carries }
        popularity.status = before
        write(.popularityPool(popularity.stored))
        logger.error(
            "round \(plan.round): its indicator sum carries no popularity counts: the state folder does not take writes, and a sum it has not recorded could be made twice after a restart"
        )
        return false
    }

    /// Round `round`'s indicator sum carried the silos' item counts (`summed`): the pool closes
    /// from that sum, and is stored (a restart keeps it: the counts are never summed again, as
    /// a second sum over other silos would subtract into one silo's counts).
    func poolSecureCounts(_ summed: SummedCounts, round: Int) {
        guard
            let line = popularity.closeSecure(
                counts: summed.counts, shared: summed.shared, summedOver: summed.summedOver, declared: summed.declared, round: round)
        else { return }
        logger.notice("\(line)")
        write(.popularityPool(popularity.stored))
        changes.notify()
    }

    /// The most-popular baseline as it stands (for the status page, a simulation, a test).
    public var popularityBaseline: PopularityBaseline { popularity.baseline }
}
