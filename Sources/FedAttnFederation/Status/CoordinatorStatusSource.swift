public import Foundation
import Synchronization

/// Builds a served coordinator's status each time its page is asked for (`serve
/// --metrics-port`: `/status`, `/status.json`). Only the live facts are taken on the
/// coordinator's actor (`Coordinator.statusSnapshot`: a few values and copy-on-write
/// arrays); the rest is done outside it, on the asking task: the state folder is read for the
/// rounds' publication times only when a round appears that the last read did not have (the
/// times are cached), and a silo's epsilon is computed again only when it was charged since
/// (cached too). A page load therefore never waits on the state folder while holding the actor.
public final class CoordinatorStatusSource: Sendable {
    private let coordinator: Coordinator
    private let store: StateStore?
    private let membership: Membership?
    private let certificate: @Sendable () -> (file: String, notAfter: Date)?
    private let stopping: @Sendable () -> String?

    private struct Cache {
        var published: [Int: Date] = [:]
        var epsilon: [String: (charges: Int, epsilon: Double)] = [:]
    }
    private let cache = Mutex(Cache())

    /// The status of `coordinator`, with its state folder `store` (publication times), its
    /// `membership` (the allow-list, for who is missing), its `certificate` (file and expiry,
    /// asked at each build: a renewed certificate is shown once taken; nil with `--insecure`),
    /// and `stopping`, asked at each build, saying why the process stops (nil while it does not).
    public init(
        coordinator: Coordinator, store: StateStore? = nil, membership: Membership? = nil,
        certificate: @escaping @Sendable () -> (file: String, notAfter: Date)? = { nil },
        stopping: @escaping @Sendable () -> String? = { nil }
    ) {
        self.coordinator = coordinator
        self.store = store
        self.membership = membership
        self.certificate = certificate
        self.stopping = stopping
    }

    /// The status now (`time`: when it is taken, which the certificate's days left count from).
    public func status(at time: Date = Date()) async -> CoordinatorStatus {
        let snapshot = await coordinator.statusSnapshot
        return CoordinatorStatus(
            snapshot, config: coordinator.config, strategy: coordinator.strategyName, time: time,
            publishedAt: publicationTimes(of: snapshot.history), allowList: membership?.allowList, membersFile: membership?.membersFile,
            exampleEpsilon: exampleEpsilon(snapshot.privacyCharges), certificate: certificate(), stopping: stopping())
    }

    /// When each round of `history` was published: as last read, or read again when a round
    /// is new to the cache (a folder that cannot be read now leaves the times as they were).
    private func publicationTimes(of history: [RoundRecord]) -> [Int: Date] {
        guard let store else { return [:] }
        let known = cache.withLock { $0.published }
        guard history.contains(where: { known[$0.round] == nil }), let read = try? store.publicationTimes() else { return known }
        cache.withLock { $0.published = read }
        return read
    }

    /// The epsilon each silo charged in `charges` has spent (at the federation's delta, or 1 /
    /// its latest declared size), computed again only for a silo charged since the last time.
    private func exampleEpsilon(_ charges: [String: [PrivacyCharge]]) -> [String: Double] {
        guard !charges.isEmpty else { return [:] }
        let delta = coordinator.config.examplePrivacy?.delta
        let known = cache.withLock { $0.epsilon }
        var spent: [String: Double] = [:]
        var computed: [String: (charges: Int, epsilon: Double)] = [:]
        for (silo, own) in charges {
            if let cached = known[silo], cached.charges == own.count {
                spent[silo] = cached.epsilon
            } else if let epsilon = PrivacyCharge.spentPerSilo(own, delta: delta)[silo]?.epsilon {
                spent[silo] = epsilon
                computed[silo] = (own.count, epsilon)
            }
        }
        if !computed.isEmpty { cache.withLock { $0.epsilon.merge(computed) { _, new in new } } }
        return spent
    }
}
