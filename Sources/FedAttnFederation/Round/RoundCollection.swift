import FedAttnCore
import FedAttnSecAgg

/// How the round state machine collects a round's updates: uploaded whole
/// (`UploadedUpdates`), or masked through SecAgg+'s phases (`SecureUpdates`). A value the
/// machine is given at start (`RoundStateMachine.init` picks it from the configuration), so
/// that it asks the policy instead of testing the setting. The secure phases themselves are
/// `RoundStateMachine+Secure.swift`.
package protocol RoundCollection: Sendable {
    /// Why an uploaded update from `client` is refused whatever the round (nil: it may be taken).
    func refuseUpload(from client: String) -> CoordinatorError?
    /// Why a secure-phase answer from `client` is refused whatever the round (nil: it may be taken).
    func refuseSecure(from client: String) -> CoordinatorError?
    /// How round `round` starts, from the clients that may train (`clients`, in selection
    /// order) and the attempts before (`retries`). `plan` draws a secure round's ids, graph and
    /// session for the clients chosen.
    func start(round: Int, clients: [String], retries: Int, plan: ([String], SecureAggregationSettings) -> SecureRoundPlan) -> RoundStart
    /// What `client`'s TRAIN task carries of the round's secure plan (nil: none).
    func taskPlan(for client: String, in plan: SecureRoundPlan?) -> SecurePlan?
    /// How long each secure phase after training waits (`roundTimeout` when there are none).
    func phaseTimeout(roundTimeout: Duration) -> Duration
}

/// Updates uploaded whole: secure answers are refused, and a round trains on the clients given.
/// How a round starts (`RoundCollection.start`).
package enum RoundStart: Equatable {
    /// It waits for clients, for this reason (logged).
    case wait(String)
    /// It trains on `clients`, with this secure plan (nil: none), and these lines logged.
    case start(clients: [String], secure: SecureRoundPlan?, logs: [String])
}

package struct UploadedUpdates: RoundCollection {
    package init() {}

    package func refuseUpload(from client: String) -> CoordinatorError? { nil }
    package func refuseSecure(from client: String) -> CoordinatorError? { Self.noSecureAggregation(client) }

    /// The refusal of a secure answer in a federation without secure aggregation.
    package static func noSecureAggregation(_ client: String) -> CoordinatorError {
        .invalidRequest("secure step from '\(client)': this federation does not run secure aggregation")
    }
    package func start(round: Int, clients: [String], retries: Int, plan: ([String], SecureAggregationSettings) -> SecureRoundPlan) -> RoundStart {
        .start(clients: clients, secure: nil, logs: [])
    }
    package func taskPlan(for client: String, in plan: SecureRoundPlan?) -> SecurePlan? { nil }
    package func phaseTimeout(roundTimeout: Duration) -> Duration { roundTimeout }
}

/// Secure aggregation (SecAgg+, Bonawitz et al., CCS 2017; Bell et al., CCS 2020): uploads are
/// refused; a round needs 3 clients or more (with two, each could subtract its own update from
/// the sum and read the other's), samples at most as many as the ring holds, and gives each a
/// place in the round's graph.
package struct SecureUpdates: RoundCollection {
    package let settings: SecureAggregationSettings

    package init(settings: SecureAggregationSettings) { self.settings = settings }

    package func refuseUpload(from client: String) -> CoordinatorError? {
        .invalidRequest(
            "update from '\(client)': this federation runs secure aggregation: an update is summed through the secure phases, never uploaded whole")
    }
    package func refuseSecure(from client: String) -> CoordinatorError? { nil }

    package func start(round: Int, clients: [String], retries: Int, plan: ([String], SecureAggregationSettings) -> SecureRoundPlan) -> RoundStart {
        guard clients.count >= 3 else {
            return .wait("round \(round) waits for clients: secure aggregation needs 3 or more, \(clients.count) can train")
        }
        var clients = clients, logs: [String] = []
        if clients.count > settings.maxClients {
            logs.append("round \(round): secure aggregation with \(settings.bits) bits sums at most \(settings.maxClients) clients; sampling them")
            var rng = SeededGenerator(seed: UInt64(round) &* 7_927 &+ UInt64(retries))
            clients.shuffle(using: &rng)
            clients = Array(clients.prefix(settings.maxClients))
        }
        let secure = plan(clients, settings)
        if settings.threshold > 0, secure.threshold < settings.threshold {
            logs.append(
                "round \(round): --secagg-threshold \(settings.threshold) is over the \(secure.graph.neighbours[0]?.count ?? 0) neighbours each of \(clients.count) silos has; using \(secure.threshold)"
            )
        }
        return .start(clients: clients, secure: secure, logs: logs)
    }

    package func taskPlan(for client: String, in plan: SecureRoundPlan?) -> SecurePlan? {
        guard let plan, let id = plan.ids[client] else { return nil }
        return SecurePlan(
            id: id, attempt: plan.attempt, session: plan.session, clients: plan.ids.count, neighbours: plan.graph.neighbours[id] ?? [],
            threshold: plan.threshold, weight: plan.weights[client] ?? 0, clip: settings.clip, bits: settings.bits)
    }

    package func phaseTimeout(roundTimeout: Duration) -> Duration { settings.phaseTimeout }
}
