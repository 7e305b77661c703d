public import FedAttnModel

/// The coordinator's side of the most-popular baseline (protocol 10): it takes each silo's
/// item counts once (checked, added with checked arithmetic), closes the pool when the
/// federation's first evaluation begins, hands the pooled counts to every silo that shared
/// until that silo has sent the baseline's sums, and keeps one set of sums per silo. Under
/// secure aggregation (protocol 11) the counts arrive instead as one secure sum, in a secure
/// round's indicator vector (`PopularityPool+SecureSum.swift`). Pure: the coordinator's actor
/// owns it, logs what it answers and stores what changed.
struct PopularityPool: Sendable {
    /// The most items one share, or the pooled counts handed out, may name
    /// (`Limits.max_popularity_items`): at most 15 bytes an item on the wire (a 5-byte id, a
    /// 10-byte count), so either message stays under the 4 MiB a message may take.
    static let maxItems = 262_144

    let policy: PopularityPolicy
    /// The fewest contributors the pool is handed out from (`CoordinatorConfig.popularityMinimumSilos`).
    let minimumSilos: Int
    /// By client: the round whose evaluation task last carried the pooled counts, so that a
    /// client polling again for the same task is not sent them again.
    private var handedOut: [String: Int] = [:]
    var status: PopularityBaseline.Status
    /// Silos whose counts are in the pool (shared before it closed).
    private(set) var contributors: Set<String> = []
    /// Silos that shared after the pool closed: they get the pooled counts, which hold none of theirs.
    private(set) var lateSharers: Set<String> = []
    private(set) var declined: Set<String> = []
    /// Clients whose protocol shares no counts: 9, or under the secure sum 9 and 10.
    private(set) var oldProtocol: Set<String> = []
    /// The wire protocol each client joined with (what decides whether a secure round may
    /// carry counts: all of its clients must speak 11). In memory: clients join again after a restart.
    private(set) var protocols: [String: UInt32] = [:]
    /// Under the secure sum: the silos of the indicator sum that carried the counts (each
    /// shared or declined: the coordinator cannot tell), and how many shared.
    var summedOver: Set<String> = []
    var sharedBy = 0
    /// The counts added so far, while pooling.
    private var running: [Int32: Int] = [:]
    /// The pooled counts, once closed with some.
    var pooled: PopularityCounts?
    /// Items the pooled counts name (also when there are too many to hand out).
    var items = 0
    /// Each silo's baseline sums (the first taken from it).
    private(set) var sums: [String: RankingSums] = [:]

    /// A pool under `policy`, resumed from what a state folder holds (`stored`: the pool as it
    /// closed, and the silos' sums); a folder without a closed pool, or with one closed the
    /// other way (in the clear, or by a secure sum), starts pooling again. `itemRows`: the
    /// model's item rows V; under the secure sum a model of more than `maxItems` items (V - 1)
    /// carries no counts, and the pool is closed from the start.
    init(policy: PopularityPolicy, stored: StoredPopularity? = nil, minimumSilos: Int = 3, itemRows: Int = 0) {
        self.policy = policy
        self.minimumSilos = max(2, minimumSilos)
        switch policy {
        case .offSecureAggregation: status = .secureAggregation
        case .offDifferentialPrivacy: status = .differentialPrivacy
        case .on, .secureSum, .unspecified: status = .pooling
        }
        if status == .pooling, let stored, stored.status != .pooling, stored.summedSecurely == (policy == .secureSum) {
            // A sum under way when the coordinator stopped may have been unmasked: never another.
            status = stored.status == .summing ? .interrupted : stored.status
            contributors = Set(stored.pooledFrom)
            summedOver = Set(stored.summedOver)
            sharedBy = stored.sharedBy
            declined = Set(stored.declined)
            oldProtocol = Set(stored.oldProtocol)
            items = stored.items
            pooled = stored.status == .pooled ? stored.counts : nil
            sums = stored.sums
        }
        if policy == .secureSum, status == .pooling, itemRows - 1 > Self.maxItems {
            status = .tooManyItems
            items = itemRows - 1
        }
    }

    /// Whether the pool has closed (the first evaluation began, a secure sum of the counts was
    /// unmasked, or it never pools).
    var isClosed: Bool { status != .pooling && status != .summing }

    /// What the state folder keeps of the pool (the counts only once closed with some).
    var stored: StoredPopularity {
        StoredPopularity(
            status: status, pooledFrom: contributors.sorted(), declined: declined.sorted(), oldProtocol: oldProtocol.sorted(), items: items,
            counts: pooled, sums: sums, summedSecurely: policy == .secureSum, summedOver: summedOver.sorted(), sharedBy: sharedBy)
    }

    /// `client` joined speaking `protocolVersion`: a line to log the first time a client of an
    /// older protocol joins a federation that pools counts (nil otherwise): before 10 it shares
    /// none; under the secure sum, before 11 no secure round it is in carries any.
    mutating func joined(_ client: String, protocolVersion: UInt32) -> String? {
        protocols[client] = protocolVersion
        let needed = policy == .secureSum ? Coordinator.secureCountsProtocol : Coordinator.popularityProtocol
        guard protocolVersion < needed else {
            oldProtocol.remove(client)
            return nil
        }
        guard oldProtocol.insert(client).inserted else { return nil }
        switch policy {
        case .on: return "client \(client) speaks wire protocol \(protocolVersion): it shares no popularity counts"
        case .secureSum:
            return
                "client \(client) speaks wire protocol \(protocolVersion): no secure round it takes part in carries popularity counts (protocol \(needed) does)"
        case .offSecureAggregation, .offDifferentialPrivacy, .unspecified: return nil
        }
    }

    /// Takes `client`'s counts (nil: it declines), `declared` the training examples it declared
    /// at Join, `rows` the model's item rows. A silo's first answer counts; later ones are
    /// acknowledged and change nothing.
    /// - Returns: whether the counts went into the pool, and what to tell the client.
    /// - Throws: `.invalidRequest` naming the client and what is wrong (see the protocol's
    ///   SharePopularity); nothing changes then.
    mutating func share(_ counts: PopularityCounts?, from client: String, declared: Int, rows: Int) throws(CoordinatorError) -> (
        pooled: Bool, message: String
    ) {
        let who = "popularity counts from '\(client)'"
        switch policy {
        case .on: break
        case .secureSum:
            // Declining is said in the clear, as without secure aggregation: the coordinator
            // then knows how many shared flags the sum must hold, and hands it no pool.
            guard counts == nil else {
                throw .invalidRequest(
                    "\(who): this federation runs secure aggregation: counts are never sent in the clear; they go, masked, into a secure round's indicator sum when its task says so (SharePopularity only declines)"
                )
            }
        case .offSecureAggregation:
            throw .invalidRequest("\(who): this federation runs secure aggregation and pools no counts (they would be sent in the clear)")
        case .offDifferentialPrivacy:
            throw .invalidRequest("\(who): this federation runs differential privacy and pools no counts (they would be exact, outside the budget)")
        case .unspecified: throw .invalidRequest("\(who): this federation pools no counts")
        }
        guard !oldProtocol.contains(client) else {
            throw .invalidRequest("\(who): it joined with wire protocol 9, which has no popularity counts; join with 10 to share them")
        }
        if policy == .secureSum {
            guard !summedOver.contains(client) else {
                return (false, "'\(client)' was in the secure sum of the counts already: its decline comes too late and changes nothing")
            }
            guard declined.insert(client).inserted else { return (false, "'\(client)' already declined; nothing changed") }
            return (
                false, "'\(client)' declines: it adds zeros and a shared flag of 0 to the secure sum of the counts, and gets no most-popular baseline"
            )
        }
        if contributors.contains(client) { return (false, "the counts of '\(client)' are already pooled; nothing changed") }
        if lateSharers.contains(client) || declined.contains(client) { return (false, "'\(client)' already answered; nothing changed") }
        guard let counts else {
            declined.insert(client)
            return (false, "'\(client)' shares no counts: it gets no most-popular baseline")
        }
        try Self.check(counts, who: who, declared: declared, rows: rows)
        guard status == .pooling else {
            lateSharers.insert(client)
            return (false, "the pool closed at the first evaluation: '\(client)' gets the pooled counts, which hold none of its own")
        }
        var added = running
        for (item, count) in zip(counts.items, counts.counts) {
            let (sum, overflow) = added[item, default: 0].addingReportingOverflow(count)
            guard !overflow else { throw .invalidRequest("\(who): item \(item)'s count \(count) overflows the pooled count") }
            added[item] = sum
        }
        running = added
        contributors.insert(client)
        return (true, "the counts of '\(client)' (\(counts.count) items) are pooled")
    }

    /// Refuses counts no silo could share: see the protocol's SharePopularity.
    static func check(_ counts: PopularityCounts, who: String, declared: Int, rows: Int) throws(CoordinatorError) {
        guard counts.items.count == counts.counts.count else {
            throw .invalidRequest("\(who): \(counts.items.count) items but \(counts.counts.count) counts")
        }
        guard !counts.isEmpty else { throw .invalidRequest("\(who): no items, and no decline") }
        guard counts.count <= maxItems else {
            throw .invalidRequest("\(who): \(counts.count) items, over the \(maxItems) a share may name (Limits.max_popularity_items)")
        }
        var previous: Int32 = 0
        var total = 0
        for (item, count) in zip(counts.items, counts.counts) {
            guard item >= 1, Int(item) < rows else {
                throw .invalidRequest("\(who): item \(item) is not an item row of the model (1 to \(rows - 1); row 0 is padding)")
            }
            guard item > previous else { throw .invalidRequest("\(who): item \(item) is not above the item before it (\(previous))") }
            guard count >= 1 else { throw .invalidRequest("\(who): item \(item) has a count of \(count); 1 or more expected") }
            let (sum, overflow) = total.addingReportingOverflow(count)
            guard !overflow, sum <= declared else {
                throw .invalidRequest(
                    "\(who): the counts add up past the \(declared) training examples it declared at Join (at item \(item)\(overflow ? ": overflow" : ""))"
                )
            }
            (previous, total) = (item, sum)
        }
    }

    /// Closes the pool, as the federation's first evaluation begins: a line for the log (nil
    /// when it was closed already, or under the secure sum, whose pool closes with the sum that
    /// carried the counts).
    mutating func close() -> String? {
        guard status == .pooling, policy != .secureSum else { return nil }
        let named = PopularityBaseline(status: .pooling, declined: declined.sorted(), oldProtocol: oldProtocol.sorted()).notShared
        items = running.count
        defer { running = [:] }
        guard !contributors.isEmpty else {
            status = .noCounts
            return "popularity: no silo shared its item counts; no most-popular baseline\(named)"
        }
        guard contributors.count >= minimumSilos else {
            status = .tooFewSilos
            return
                "popularity: only \(PopularityBaseline.silos(contributors.count)) shared item counts, fewer than the \(minimumSilos) the pool needs (with two, each could read the other's counts); no most-popular baseline\(named)"
        }
        guard running.count <= Self.maxItems else {
            status = .tooManyItems
            return "popularity: the pooled counts name \(running.count) items, over the \(Self.maxItems) a task may carry; no most-popular baseline"
        }
        let sorted = running.keys.sorted()
        pooled = PopularityCounts(items: sorted, counts: sorted.map { running[$0] ?? 0 })
        status = .pooled
        return "popularity: item counts of \(PopularityBaseline.silos(contributors.count)) pooled (\(sorted.count) items)\(named)"
    }

    /// The pooled counts `client`'s evaluation task carries: while it shared them and has sent
    /// no baseline sums; nil otherwise.
    /// Once per client and round: a client polling again for the same task gets none (the
    /// counts may be megabytes; a hostile client would have them encoded and sent at its call
    /// rate).
    mutating func counts(for client: String, round: Int) -> PopularityCounts? {
        guard mayScore(client), handedOut[client] != round else { return nil }
        handedOut[client] = round
        return pooled
    }

    /// Whether `client` is to score the baseline: the pool is handed out, it shared (or shared
    /// late; under the secure sum, its vector was in the sum that carried the counts and it did
    /// not decline), and it has sent no sums yet.
    private func mayScore(_ client: String) -> Bool {
        status == .pooled && sums[client] == nil
            && (contributors.contains(client) || lateSharers.contains(client) || (summedOver.contains(client) && !declined.contains(client)))
    }

    /// Takes `client`'s baseline sums (already checked as possible): false, and nothing kept,
    /// when it was given no pooled counts or its sums are in already.
    mutating func take(_ sums: RankingSums, from client: String) -> Bool {
        guard mayScore(client) else { return false }
        self.sums[client] = sums
        return true
    }

    /// The baseline as it stands: the silos' sums added in the order of their names.
    var baseline: PopularityBaseline {
        var total = RankingSums()
        let scored = sums.keys.sorted()
        for client in scored { total.merge(sums[client] ?? RankingSums()) }
        return PopularityBaseline(
            status: status, pooledFrom: contributors.sorted(), declined: declined.sorted(), oldProtocol: oldProtocol.sorted(),
            items: status == .pooling ? running.count : items, scoredBy: scored, sums: total, summedSecurely: policy == .secureSum,
            summedOver: summedOver.sorted(), sharedBy: sharedBy)
    }
}

/// The most-popular baseline as a state folder keeps it (`StateStore`): the pool as it closed
/// and the sums each silo sent.
public struct StoredPopularity: Sendable, Equatable {
    public var status: PopularityBaseline.Status
    public var pooledFrom: [String]
    public var declined: [String]
    public var oldProtocol: [String]
    public var items: Int
    /// The pooled counts (nil unless pooled).
    public var counts: PopularityCounts?
    /// Each silo's baseline sums.
    public var sums: [String: RankingSums]
    /// Whether the counts are (to be) summed securely, and from which sum: see `PopularityBaseline`.
    public var summedSecurely: Bool
    public var summedOver: [String]
    public var sharedBy: Int

    public init(
        status: PopularityBaseline.Status, pooledFrom: [String], declined: [String], oldProtocol: [String], items: Int, counts: PopularityCounts?,
        sums: [String: RankingSums], summedSecurely: Bool = false, summedOver: [String] = [], sharedBy: Int = 0
    ) {
        self.summedSecurely = summedSecurely
        self.summedOver = summedOver
        self.sharedBy = sharedBy
        self.status = status
        self.pooledFrom = pooledFrom
        self.declined = declined
        self.oldProtocol = oldProtocol
        self.items = items
        self.counts = counts
        self.sums = sums
    }

    /// The baseline it shows.
    public var baseline: PopularityBaseline {
        var total = RankingSums()
        let scored = sums.keys.sorted()
        for client in scored { total.merge(sums[client] ?? RankingSums()) }
        return PopularityBaseline(
            status: status, pooledFrom: pooledFrom, declined: declined, oldProtocol: oldProtocol, items: items, scoredBy: scored, sums: total,
            summedSecurely: summedSecurely, summedOver: summedOver, sharedBy: sharedBy)
    }
}
