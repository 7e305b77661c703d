import NIOCore
import Synchronization

/// Which open connection speaks for each silo name, so that a second live connection
/// presenting the same name (two processes started from one kit, or a copied key) is
/// refused rather than allowed to act for the silo. A name is freed when its connection
/// closes, so a client that crashed and restarted gets back in; `onClose` then hears the
/// names the connection spoke for, so the coordinator can count that silo as gone.
final class ConnectionRegistry: Sendable {
    private struct State {
        var open: Set<String> = []
        var owner: [String: String] = [:]
        /// Each open connection, by peer, so that one can be asked to close.
        var channels: [String: any Channel] = [:]
    }
    private let state = Mutex(State())
    private let onClose: @Sendable (_ names: [String], _ peer: String) -> Void

    init(onClose: @escaping @Sendable (_ names: [String], _ peer: String) -> Void = { _, _ in }) {
        self.onClose = onClose
    }

    /// What a claim of a name found.
    enum Claim: Equatable {
        /// The connection speaks for the name; `first` when this is its first call as it.
        case granted(first: Bool)
        /// Another open connection (this peer) already speaks for the name.
        case taken(by: String)
        /// The calling connection has closed already.
        case closed
    }

    /// Tracks `channel` from accept to close. Its key is the peer string gRPC reports.
    func track(_ channel: any Channel) -> EventLoopFuture<Void> {
        let peer = Self.peer(of: channel.remoteAddress)
        state.withLock { state in
            _ = state.open.insert(peer)
            state.channels[peer] = channel
        }
        channel.closeFuture.whenComplete { [self] _ in
            let names = state.withLock { state in
                state.open.remove(peer)
                state.channels[peer] = nil
                let names = state.owner.filter { $0.value == peer }.map(\.key)
                for name in names { state.owner[name] = nil }
                return names
            }
            if !names.isEmpty { onClose(names, peer) }
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    /// Lets `peer` act as `name`, unless another open connection already does.
    func claim(_ name: String, for peer: String) -> Claim {
        state.withLock { state in
            if let current = state.owner[name] {
                if current == peer { return .granted(first: false) }
                if state.open.contains(current) { return .taken(by: current) }
            }
            guard state.open.contains(peer) else { return .closed }
            state.owner[name] = peer
            return .granted(first: true)
        }
    }

    /// Stops `peer`'s connection speaking for `name` (a silo refused from now on), so that its
    /// close no longer counts as that silo leaving, and a later call as `name` on it is a
    /// first call again.
    /// - Returns: whether it spoke for `name`.
    func release(_ name: String, from peer: String) -> Bool {
        state.withLock { state in
            guard state.owner[name] == peer else { return false }
            state.owner[name] = nil
            return true
        }
    }

    /// Asks `peer`'s connection to close once the calls under way on it are answered (HTTP/2
    /// GOAWAY: the client opens no new call on it), and closes it outright `grace` later if it
    /// is still open. A refused silo so still hears why.
    func close(_ peer: String, grace: TimeAmount = .seconds(10)) {
        guard let channel = state.withLock({ $0.channels[peer] }) else { return }
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
    }

    /// The peer string grpc-swift's NIO transport puts in `ServerContext.remotePeer`.
    static func peer(of address: SocketAddress?) -> String {
        switch address {
        case .v4(let v4)?: "ipv4:\(v4.host):\(address!.port!)"
        case .v6(let v6)?: "ipv6:[\(v6.host)]:\(address!.port!)"
        case .unixDomainSocket?, nil: "<unknown>"
        }
    }
}
