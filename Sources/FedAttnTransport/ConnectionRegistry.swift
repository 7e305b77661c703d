import NIOCore
import Synchronization

/// Which open connection speaks for each silo name, so that a second live connection
/// presenting the same name (two processes started from one kit, or a copied key) is
/// refused rather than allowed to act for the silo. A name is freed when its connection
/// closes, so a client that crashed and restarted gets back in.
final class ConnectionRegistry: Sendable {
    private struct State {
        var open: Set<String> = []
        var owner: [String: String] = [:]
    }
    private let state = Mutex(State())

    /// Tracks `channel` from accept to close. Its key is the peer string gRPC reports.
    func track(_ channel: any Channel) -> EventLoopFuture<Void> {
        let peer = Self.peer(of: channel.remoteAddress)
        state.withLock { _ = $0.open.insert(peer) }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLock { state in
                state.open.remove(peer)
                state.owner = state.owner.filter { $0.value != peer }
            }
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    /// Lets `peer` act as `name`, unless another open connection already does; then returns
    /// that connection's peer.
    func claim(_ name: String, for peer: String) -> String? {
        state.withLock { state in
            if let current = state.owner[name], current != peer, state.open.contains(current) { return current }
            if state.open.contains(peer) { state.owner[name] = peer }
            return nil
        }
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
