import Foundation
public import GRPCCore
import Synchronization

/// A limit per connection on the calls that carry no bulk data (Join, SharePopularity,
/// NextTask, ReserveUpload, ReportEvaluation, and the health service's Check and Watch): a
/// token bucket of `burst` calls refilled at `perSecond`, shared by them all.
/// A call over it is refused at once with RESOURCE_EXHAUSTED, before the coordinator does
/// any work for it; the refusal is counted in `fedattn_refusals_total` and logged within the
/// refusal log's budget (`RefusalLog`). A client following the protocol makes a few such calls
/// a round (NextTask long-polls); a loop of thousands a second took a core of the coordinator.
/// Model downloads and uploads are bounded by their sizes and upload slots instead. A
/// connection refused `closeAfter` times in a row is closed (its calls under way answered
/// first): a client that reads its refusals waits and is served again long before that, so
/// only a loop ignoring them gets there, and it then costs the coordinator a new TLS
/// handshake per connection instead of a refusal per call.
public struct CallRateLimit: ServerInterceptor {
    /// Sustained calls a second per connection.
    public let perSecond: Double
    /// Calls a connection may make at once after a quiet spell.
    public let burst: Double
    /// The most connections tracked at once; past it the longest-quiet ones are forgotten
    /// (a forgotten connection starts again with a full bucket).
    public let connections: Int

    /// Refusals in a row after which a connection is closed.
    public let closeAfter: Int

    private let buckets: Buckets
    /// Closes a connection by its peer address (the server's `ConnectionRegistry`); nil: none is.
    private var closeConnection: (@Sendable (String) -> Void)?

    /// Methods the limit applies to, by full name (`package.Service/Method`, as gRPC's
    /// `MethodDescriptor.fullyQualifiedMethod` writes it).
    public static let limited: Set<String> = [
        "fedattn.v1.Federation/Join", "fedattn.v1.Federation/SharePopularity", "fedattn.v1.Federation/NextTask",
        "fedattn.v1.Federation/ReserveUpload", "fedattn.v1.Federation/ReportEvaluation", "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
    ]

    /// 50 calls a second sustained, bursts of 200, a connection closed after 1,000 refusals
    /// in a row, by default.
    public init(perSecond: Double = 50, burst: Double = 200, connections: Int = 10_000, closeAfter: Int = 1_000) {
        self.perSecond = perSecond
        self.burst = burst
        self.connections = connections
        self.closeAfter = max(1, closeAfter)
        buckets = Buckets()
    }

    /// The same limit, closing the connections it has refused `closeAfter` times in a row
    /// with `close` (given their peer address).
    func closing(with close: @escaping @Sendable (String) -> Void) -> CallRateLimit {
        var limit = self
        limit.closeConnection = close
        return limit
    }

    /// What the limit says of one call.
    public enum Verdict: Sendable, Equatable {
        case allowed
        case refused
        /// Refused, and the `closeAfter`-th refusal in a row: the connection is to be closed.
        case refusedAndClosed
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard Self.limited.contains(context.descriptor.fullyQualifiedMethod) else { return try await next(request, context) }
        let verdict = admit(context.remotePeer)
        guard verdict == .allowed else {
            let closed = verdict == .refusedAndClosed && closeConnection != nil
            if closed { closeConnection?(context.remotePeer) }
            throw RPCError(
                code: .resourceExhausted,
                message: "over \(String(format: "%g", perSecond)) calls a second (bursts of \(String(format: "%g", burst))) on this connection: "
                    + "\(context.descriptor.method) refused; wait as the last Task said before calling again"
                    + (closed ? "; \(closeAfter) refusals in a row: the connection is closed" : ""))
        }
        return try await next(request, context)
    }

    /// Takes one call from `connection`'s bucket (a peer address with its port) at `now`;
    /// false when it is empty.
    public func take(_ connection: String, at now: ContinuousClock.Instant = .now) -> Bool {
        admit(connection, at: now) == .allowed
    }

    /// Takes one call from `connection`'s bucket at `now`, counting the refusals in a row.
    public func admit(_ connection: String, at now: ContinuousClock.Instant = .now) -> Verdict {
        buckets.state.withLock { buckets in
            var bucket = buckets[connection] ?? Bucket(tokens: burst, refilled: now)
            let elapsed = now - bucket.refilled
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * perSecond)
            bucket.refilled = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            bucket.refusedInARow = allowed ? 0 : bucket.refusedInARow + 1
            let verdict: Verdict = allowed ? .allowed : bucket.refusedInARow % closeAfter == 0 ? .refusedAndClosed : .refused
            buckets[connection] = bucket
            if buckets.count > connections {
                let quietest = buckets.sorted { $0.value.refilled < $1.value.refilled }.prefix(buckets.count - connections / 2).map(\.key)
                for key in quietest where key != connection { buckets.removeValue(forKey: key) }
            }
            return verdict
        }
    }

    struct Bucket {
        var tokens: Double
        var refilled: ContinuousClock.Instant
        var refusedInARow = 0
    }

    final class Buckets: Sendable {
        let state = Mutex<[String: Bucket]>([:])
    }
}
