import FedAttnFederation
import FedAttnProtocol
import GRPCCore
import SwiftProtobuf

/// The standard gRPC health service (`grpc.health.v1.Health`, protocol/health.proto) on the
/// coordinator's port, for Kubernetes' gRPC probes, grpc_health_probe and load balancers. It
/// answers for "" (the server) and the federation service (`fedattn.v1.Federation`), both as
/// `status` says. It is not a silo's call: it reads no identity, so the caller joins nothing,
/// claims no silo name and is not held to the allow-list; any certificate the federation CA
/// signed will do (a revoked one is refused at the handshake, as for any call). It goes
/// through the server's interceptors like every call: the call-rate limit, the refusal log.
struct HealthService: Grpc_Health_V1_Health.ServiceProtocol {
    /// What Check answers and Watch follows.
    let status: HealthStatus

    /// The services it answers for: the server as a whole (""), and the federation's.
    static let services: Set<String> = ["", Fedattn_V1_Federation.descriptor.fullyQualifiedService]

    /// The status now; NOT_FOUND for a service name it does not know (as the protocol says).
    func check(
        request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext
    ) async throws -> ServerResponse<Grpc_Health_V1_HealthCheckResponse> {
        let name = request.message.service
        guard Self.services.contains(name) else {
            throw RPCError(
                code: .notFound,
                message:
                    "no service \(SiloName.quoted(name)) here: health is answered for \"\" (the whole server) and \"\(Fedattn_V1_Federation.descriptor.fullyQualifiedService)\""
            )
        }
        let now = Self.wire(status.current)
        return ServerResponse(message: .with { $0.status = now })
    }

    /// The status at once, then each change, until the client cancels or the server stops
    /// (the stream then ends, NOT_SERVING last). A service name it does not know hears
    /// SERVICE_UNKNOWN, and the call stays open until then all the same (the protocol's rule:
    /// it would hear the service's status were it added; none is added while it runs).
    func watch(
        request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Grpc_Health_V1_HealthCheckResponse> {
        let known = Self.services.contains(request.message.service)
        guard let changes = status.changesIfRoom() else {
            throw RPCError(
                code: .resourceExhausted,
                message: "\(status.maxWatchers) Watch calls are open on this coordinator already: ask with Check, or watch again later")
        }
        return StreamingServerResponse { writer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var sent: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
                    for await now in changes {
                        let answer = known ? Self.wire(now) : .serviceUnknown
                        guard answer != sent else { continue }
                        try await writer.write(.with { $0.status = answer })
                        sent = answer
                    }
                }
                // gRPC tells a handler that its call is cancelled (the client went away)
                // through this handle, not by cancelling its task.
                group.addTask { try await context.cancellation.cancelled }
                try await group.next()
                group.cancelAll()
            }
            return [:]
        }
    }

    /// The protocol's value for `serving`.
    static func wire(_ serving: HealthStatus.Serving) -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        switch serving {
        case .serving: .serving
        case .notServing: .notServing
        }
    }
}
