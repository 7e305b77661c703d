import FedAttnCore
public import FedAttnModel
import Logging

// The most-popular baseline: the silos' item counts pooled at Join, closed as the first
// evaluation begins, and the sums they send back (`PopularityPool` holds the rules).
extension Coordinator {
    /// Whether this federation pools the silos' item counts for the most-popular baseline, or
    /// why not: what a client is told at Join.
    public nonisolated var popularityPolicy: PopularityPolicy { PopularityPolicy(config) }

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

    /// After the pool closed, a silo declining or a client of protocol 9 joining changes what
    /// the folder says of it: stored again.
    func storePopularityPoolIfChanged(since before: StoredPopularity) {
        guard popularity.isClosed, popularity.policy == .on else { return }
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

    /// The most-popular baseline as it stands (for the status page, a simulation, a test).
    public var popularityBaseline: PopularityBaseline { popularity.baseline }
}
