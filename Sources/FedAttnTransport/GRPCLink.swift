import FedAttnCore
public import FedAttnFederation
public import FedAttnModel
import FedAttnProtocol
import FedAttnSecAgg
public import Foundation
public import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// A client's FederationLink over gRPC.
public struct GRPCLink<Transport: ClientTransport>: FederationLink {
    private let client: Fedattn_V1_Federation.Client<Transport>
    private let metadata: Metadata

    init(client: GRPCClient<Transport>, insecureName: String?) {
        self.client = Fedattn_V1_Federation.Client(wrapping: client)
        var metadata = Metadata()
        if let insecureName { metadata.addString(insecureName, forKey: CoordinatorService.insecureIdentityHeader) }
        self.metadata = metadata
    }

    /// Joins; a refusal of the protocol version (FAILED_PRECONDITION: at Join, the version is
    /// its only precondition) is `CoordinatorError` of kind `.protocolMismatch`, so that the
    /// client may try its older protocol.
    public func join(protocolVersion: UInt32, trainExamples: Int) async throws -> JoinInfo {
        let response: Fedattn_V1_JoinResponse
        do {
            response = try await client.join(
                .with {
                    $0.protocolVersion = protocolVersion
                    $0.trainExamples = UInt64(max(trainExamples, 0))
                }, metadata: metadata)
        } catch let error as RPCError where error.code == .failedPrecondition {
            throw CoordinatorError.protocolRefused(error.message)
        }
        return try Wire.joinInfo(response)
    }

    public func nextTask(lastRound: Int) async throws -> FederationTask {
        let task = try await Self.staleAsCoordinatorError {
            try await client.nextTask(.with { $0.lastRound = UInt32(lastRound) }, metadata: metadata)
        }
        return try Wire.task(task)
    }

    /// The most a piece may carry, as the client asks; the coordinator sends at most 127 KiB.
    static var maxPieceBytes: Int { 4 << 20 }

    /// Fetches the model piece by piece: the delta from `base` when the coordinator has one
    /// (every piece must say the same), else the whole model. A version no longer served
    /// (NOT_FOUND) is `CoordinatorError.staleUpdate`: the task it came with is stale. A
    /// download whose payload the coordinator no longer serves midway (FAILED_PRECONDITION on
    /// a later piece: its pieces come from one payload) is begun again, once.
    public func downloadModel(version: String, base: String?) async throws -> DownloadedPayload {
        do {
            do {
                return try await download(version: version, base: base)
            } catch let error as RPCError where error.code == .failedPrecondition {
                return try await download(version: version, base: base)
            }
        } catch let error as RPCError where error.code == .notFound {
            // The version was replaced while this client meant to fetch it: its task is stale.
            throw CoordinatorError.staleUpdate(error.message)
        }
    }

    private func download(version: String, base: String?) async throws -> DownloadedPayload {
        var payload = Data()
        var total: UInt64?
        var deltaFrom: String?
        repeat {
            let piece = try await client.downloadModel(
                .with {
                    $0.modelVersion = version
                    $0.baseVersion = base ?? ""
                    $0.offset = UInt64(payload.count)
                    $0.maxBytes = UInt32(Self.maxPieceBytes)
                }, metadata: metadata)
            guard piece.offset == UInt64(payload.count), total == nil || total == piece.totalBytes,
                total == nil || deltaFrom == (piece.deltaFrom.isEmpty ? nil : piece.deltaFrom),
                piece.deltaFrom.isEmpty || piece.deltaFrom == base,
                piece.data.count <= Self.maxPieceBytes, UInt64(payload.count + piece.data.count) <= piece.totalBytes,
                !piece.data.isEmpty || UInt64(payload.count) == piece.totalBytes
            else {
                throw RPCError(
                    code: .dataLoss, message: "the coordinator sent an inconsistent piece of model \(version.prefix(12)) at byte \(payload.count)")
            }
            if total == nil { payload.reserveCapacity(Int(clamping: piece.totalBytes)) }
            total = piece.totalBytes
            deltaFrom = piece.deltaFrom.isEmpty ? nil : piece.deltaFrom
            payload.append(piece.data)
        } while UInt64(payload.count) < total!
        return DownloadedPayload(bytes: payload, deltaFrom: deltaFrom)
    }

    /// Waits for an upload slot (sending nothing meanwhile), then streams the update. An
    /// update the coordinator no longer wants is `CoordinatorError.staleUpdate`; a
    /// RESOURCE_EXHAUSTED refusal (over a size limit, compressed or inflated; or another
    /// upload of this client's still being read) is `CoordinatorError.tooLarge`.
    public func uploadUpdate(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        try await Self.staleAsCoordinatorError {
            do {
                return try await upload(round: round, baseVersion: baseVersion, examples: examples, trainSeconds: trainSeconds, payload: payload)
            } catch let error as RPCError where error.code == .resourceExhausted {
                throw CoordinatorError.tooLarge(error.message)
            }
        }
    }

    /// ABORTED (the update or report is no longer wanted) and FAILED_PRECONDITION (this
    /// coordinator does not know the client: it restarted) as the coordinator's own refusals.
    private static func staleAsCoordinatorError<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch let error as RPCError where error.code == .aborted {
            throw CoordinatorError.staleUpdate(error.message)
        } catch let error as RPCError where error.code == .failedPrecondition {
            throw CoordinatorError.notJoinedAnyMore(error.message)
        }
    }

    private func upload(round: Int, baseVersion: String, examples: Int, trainSeconds: Double, payload: Data) async throws -> String {
        while true {
            let slot = try await client.reserveUpload(
                .with {
                    $0.round = UInt32(round)
                    $0.baseVersion = baseVersion
                }, metadata: metadata)
            if slot.granted { break }
            try await Task.sleep(for: .milliseconds(Int(slot.retryAfterMs)))
        }
        let receipt = try await client.uploadUpdate(metadata: metadata) { writer in
            try await writer.write(
                .with {
                    $0.header = .with {
                        $0.round = UInt32(round)
                        $0.baseVersion = baseVersion
                        $0.exampleCount = UInt64(examples)
                        $0.totalBytes = UInt64(payload.count)
                        $0.trainSeconds = trainSeconds
                    }
                })
            var offset = 0
            while offset < payload.count {
                let end = min(offset + CoordinatorService.chunkBytes, payload.count)
                try await writer.write(.with { $0.data = payload.subdata(in: offset..<end) })
                offset = end
            }
        }
        return receipt.message
    }

    /// Sends one answer to a secure phase; one no longer wanted is `CoordinatorError.staleUpdate`.
    public func sendSecure(_ reply: SecureReply) async throws {
        let bytes = RingPacking.pack(reply.masked, bits: reply.maskedBits)
        try await Self.staleAsCoordinatorError {
            do {
                _ = try await client.secureStep(metadata: metadata) { writer in
                    try await writer.write(.with { $0.reply = SecureWire.reply(reply) })
                    var offset = 0
                    while offset < bytes.count {
                        let end = min(offset + CoordinatorService.chunkBytes, bytes.count)
                        try await writer.write(.with { $0.masked = bytes.subdata(in: offset..<end) })
                        offset = end
                    }
                }
            } catch let error as RPCError where error.code == .resourceExhausted {
                throw CoordinatorError.tooLarge(error.message)
            }
        }
    }

    /// Shares the silo's item counts (nil: declines); a refusal (INVALID_ARGUMENT) is
    /// `CoordinatorError.invalidRequest`, which the client carries on from.
    public func sharePopularity(_ counts: PopularityCounts?) async throws -> String {
        do {
            return try await Self.staleAsCoordinatorError {
                let receipt: Fedattn_V1_PopularityReceipt = try await client.sharePopularity(Wire.counts(counts), metadata: metadata)
                return receipt.message
            }
        } catch let error as RPCError where error.code == .invalidArgument {
            throw CoordinatorError.invalidRequest(error.message)
        }
    }

    public func reportEvaluation(round: Int, version: String, report: EvaluationReport) async throws {
        _ = try await Self.staleAsCoordinatorError {
            try await client.reportEvaluation(Wire.report(report, round: round, version: version), metadata: metadata)
        }
    }
}

/// Connects to a coordinator and runs `body` with the link; the connection closes when
/// `body` returns. `name` identifies a plaintext (loopback) client. `identityFiles`: the files
/// `security`'s identity was read from; each new connection (a reconnection too) presents the
/// certificate they hold then, once it checks (`IdentityFiles`).
public func withFederationLink<Result: Sendable>(
    host: String, port: Int, security: TransportSecurity, insecureName: String? = nil, identityFiles: IdentityFiles? = nil,
    _ body: (any FederationLink) async throws -> Result
) async throws -> Result {
    try security.check(host: host)
    let target: any ResolvableTarget =
        host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy({ UInt8($0) != nil })
        ? .ipv4(address: host, port: port) : .dns(host: host, port: port)
    let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security.client(reloading: identityFiles))
    return try await withGRPCClient(transport: transport) { client in
        try await body(GRPCLink(client: client, insecureName: insecureName))
    }
}

/// Connects with server-verifying TLS but no client certificate: what an outsider without
/// a federation certificate can do. For tests of the coordinator's refusal.
public func withPlainTLSLink<Result: Sendable>(
    port: Int, trusting caPEM: String, _ body: (any FederationLink) async throws -> Result
) async throws -> Result {
    let transport = try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: port),
        transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(Array(caPEM.utf8), format: .pem)]) })
    return try await withGRPCClient(transport: transport) { client in
        try await body(GRPCLink(client: client, insecureName: nil))
    }
}
