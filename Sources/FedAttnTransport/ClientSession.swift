public import FedAttnFederation
public import FedAttnModel
import Foundation
import GRPCCore
import Synchronization

/// A silo's client from start to done over gRPC: runs its `Participant`, and when the
/// coordinator is down or restarting (or still holds this silo's previous connection),
/// comes back with exponential backoff and jitter, so that silos do not all return at once.
/// What cannot get better by waiting (a TLS handshake failure, another protocol version, a
/// model that does not fit the silo's data) ends it at once with `ClientSessionError`.
public struct ClientSession: Sendable {
    public let host: String
    public let port: Int
    public let security: TransportSecurity
    /// With plaintext (loopback only): the name this client goes by.
    public let insecureName: String?
    /// How long to keep trying while nothing moves (no task, no answer).
    public let retryFor: Duration
    /// The files `security`'s identity was read from, if any: each new connection, every
    /// reconnection included, presents the certificate they hold then (a renewed one, once it
    /// checks), without a restart.
    public let identityFiles: IdentityFiles?

    public init(
        host: String, port: Int, security: TransportSecurity, insecureName: String? = nil, retryFor: Duration = .seconds(600),
        identityFiles: IdentityFiles? = nil
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.insecureName = insecureName
        self.retryFor = retryFor
        self.identityFiles = identityFiles
    }

    /// What the session says as it works: the participant's events, and each retry.
    public enum Event: Sendable {
        case participant(ParticipantEvent)
        /// The coordinator could not be reached (or refused this connection for now); the
        /// session tries again after `after`.
        case retrying(reason: String, after: Duration)
    }

    /// Runs `participant` until the federation is done, or until the task running it is
    /// cancelled (`ClientSessionError.wasStopped`).
    public func run(
        _ participant: Participant, expectedModel: ModelConfig, events: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws(ClientSessionError) {
        var delay = 0.5
        let heartbeat = Heartbeat()
        var beatsAtLastFailure = 0
        // Failed attempts so far.
        var failures = 0
        let plaintext = if case .insecureLoopback = security { true } else { false }
        while true {
            do {
                try await withFederationLink(
                    host: host, port: port, security: identityFiles?.security ?? security, insecureName: insecureName, identityFiles: identityFiles
                ) { link in
                    try await participant.run(link: link, expectedModel: expectedModel) { event in
                        heartbeat.beat()
                        events(.participant(event))
                    }
                }
                return
            } catch {
                if let refusal = error as? SiloPrivacyError { throw ClientSessionError(.leftForPrivacy(refusal)) }
                // Asked to stop (the process was, say): whatever the cancelled calls threw, not a
                // coordinator to come back to.
                if Task.isCancelled { throw ClientSessionError(.stopped) }
                if let failure = ConnectionFailure.classify(error, side: .client, plaintext: plaintext) {
                    throw ClientSessionError(.handshake(failure))
                }
                guard let rpc = error as? RPCError, [.unavailable, .cancelled, .alreadyExists].contains(rpc.code) else {
                    throw ClientSessionError(.refused("\(Self.describe(error))"))
                }
                // The very first attempt, and the coordinator never reached: say once what that
                // most likely means and what to check, rather than retry in silence.
                let unreached = failures == 0 && heartbeat.beats == 0 && rpc.code == .unavailable
                let explained = unreached ? Self.unreachable(rpc, host: host, port: port) : nil
                failures += 1
                guard heartbeat.sinceLast < retryFor else { throw ClientSessionError(.gaveUp(after: retryFor, last: explained ?? rpc.message)) }
                // Progress since the last failure (a task, even a WAIT): start the backoff over.
                if heartbeat.beats != beatsAtLastFailure { delay = 0.5 }
                beatsAtLastFailure = heartbeat.beats
                let wait = Duration.milliseconds(Int(delay * Double.random(in: 0.5...1.5) * 1_000))
                let why =
                    if let explained {
                        "\(explained); trying again for up to \(retryFor.components.seconds) s"
                    } else if rpc.code == .alreadyExists {
                        "refused: \(rpc.message)"
                    } else {
                        "coordinator unreachable (\(rpc.message))"
                    }
                events(.retrying(reason: why, after: wait))
                try? await Task.sleep(for: wait)
                if Task.isCancelled { throw ClientSessionError(.stopped) }
                delay = min(delay * 2, 10)
            }
        }
    }

    /// What a first attempt that did not reach the coordinator most likely means, from the
    /// cause under gRPC's wrapping, and what to check.
    static func unreachable(_ error: RPCError, host: String, port: Int) -> String {
        let causes = errorChain(error).map { String(reflecting: $0) }.joined(separator: " ").lowercased()
        let cause =
            if causes.contains("resolve") || causes.contains("dns error") {
                "the name \(host) does not resolve: check its spelling, a host name or an address with no scheme, and this machine's DNS"
            } else if causes.contains("connection refused") {
                "connection refused: nothing listens on port \(port) there"
            } else if causes.contains("unreachable") || causes.contains("no route") {
                "no route to the host: a network or a firewall in between"
            } else if causes.contains("timed out") || causes.contains("connecttimeout") {
                "the connection timed out: a firewall may drop it"
            } else {
                error.message
            }
        return "cannot reach the coordinator at \(host):\(port) (\(cause)), and this client has never reached it: "
            + "check that the coordinator runs (fedattn-coordinator serve), that \(port) is the port it logs as 'listening on', "
            + "and that no firewall drops the connection"
    }

    private static func describe(_ error: any Error) -> String {
        if let rpc = error as? RPCError, rpc.code == .unimplemented {
            // gRPC says only "Method not found": a server without this call.
            let spoken = ([Coordinator.protocolVersion] + Coordinator.olderClientProtocols).map { String($0) }.joined(separator: ", ")
            return "the server does not know a call this client makes (\(rpc.message)): it is not a FedAttention coordinator "
                + "(check the host and port), or one of a release older than this client (wire protocols "
                + "\(spoken)): upgrade it, or use the client of its release "
                + "(`fedattn-coordinator --version` names the protocols it speaks)"
        }
        if let rpc = error as? RPCError { return "the coordinator refused: \(rpc.message) (\(rpc.code))" }
        return "\(error)"
    }
}

/// Why a client session ended before the federation was done.
public struct ClientSessionError: Error, CustomStringConvertible {
    fileprivate enum Kind {
        case handshake(ConnectionFailure)
        case gaveUp(after: Duration, last: String)
        case refused(String)
        case leftForPrivacy(SiloPrivacyError)
        case stopped
    }

    fileprivate let kind: Kind
    fileprivate init(_ kind: Kind) { self.kind = kind }

    /// The TLS handshake failure behind it, if that is what it was.
    public var handshakeFailure: ConnectionFailure? { if case .handshake(let failure) = kind { failure } else { nil } }

    /// The silo's own privacy ledger refused a round (budget spent, or no DP-SGD offered to a
    /// silo requiring it): a planned leave, if that is what it was.
    public var privacyRefusal: SiloPrivacyError? { if case .leftForPrivacy(let refusal) = kind { refusal } else { nil } }

    /// The task running the session was cancelled (the process was asked to stop, say).
    public var wasStopped: Bool { if case .stopped = kind { true } else { false } }

    public var description: String {
        switch kind {
        case .handshake(let failure): "\(failure)"
        case .gaveUp(let after, let last): "gave up after \(after.components.seconds) s without progress; last: \(last)"
        case .refused(let why): why
        case .leftForPrivacy(let refusal): "\(refusal)"
        case .stopped: "stopped before the federation was done"
        }
    }
}

/// When the client last made progress, written from the participant's events.
private final class Heartbeat: Sendable {
    private let last = Mutex((at: ContinuousClock.now, beats: 0))
    func beat() { last.withLock { $0 = (ContinuousClock.now, $0.beats + 1) } }
    var sinceLast: Duration { ContinuousClock.now - last.withLock { $0.at } }
    var beats: Int { last.withLock { $0.beats } }
}
