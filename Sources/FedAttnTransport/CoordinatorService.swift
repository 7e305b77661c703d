import FedAttnCore
import FedAttnFederation
import FedAttnModel
import FedAttnProtocol
import FedAttnSecAgg
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// The `Federation` gRPC service: reads the caller's identity from its certificate,
/// translates messages to and from the coordinator, and maps refusals to status codes.
struct CoordinatorService: Fedattn_V1_Federation.ServiceProtocol {
    let coordinator: Coordinator
    let security: TransportSecurity
    /// Which connection speaks for each silo name.
    let connections: ConnectionRegistry
    /// The silos admitted (an allow-list) and the certificates refused (revoked); nil admits
    /// every silo whose certificate the federation CA signed.
    let membership: Membership?
    /// At most this many uploads are read at once.
    static let uploadSlots = 8
    let uploads = UploadSlots(capacity: CoordinatorService.uploadSlots)

    /// Plaintext connections (loopback only) name themselves in this header.
    static let insecureIdentityHeader = "x-fedattn-client"
    /// Update chunks are at most this large. An upload waiting for its admission slot still
    /// has up to 10 chunks buffered by the transport (grpc-swift reads ahead 10 messages)
    /// plus its 64 KiB HTTP/2 window: 8 KiB chunks cap that at 144 KiB per waiting client,
    /// however large its update.
    static let chunkBytes = 8 << 10
    /// Model pieces are at most this large, so the coordinator holds at most one piece (up to
    /// three times in flight: serialised, framed, encrypted) per downloading client; TLS
    /// encrypts it 16 KiB at a time (`ConnectionBuffers`). Measured (1M parameters): pieces sized from a 32 MiB budget shared among the
    /// clients (up to 1023 KiB, fewer round trips) raised 20 clients' peak from 103 to 122 MB;
    /// 63 KiB pieces saved 8 MB at 200 clients but cost a third of the throughput.
    static let pieceBytes = 127 << 10
    /// The largest message the service reads (`Limits.max_message_bytes`): a larger one is
    /// refused with RESOURCE_EXHAUSTED naming the client (`BoundedDeserializer`). Payloads
    /// travel in chunks and pieces far below it.
    static let maxMessageBytes = 4 << 20
    /// The largest message the transport takes off the wire, twice `maxMessageBytes`, so that
    /// a message over the protocol's limit reaches the service and is refused with a status
    /// naming the client. One over this is not read: gRPC resets its stream (the client sees
    /// CANCELLED), as it cannot answer a message it will not buffer.
    static let transportMessageBytes = 2 * CoordinatorService.maxMessageBytes

    func join(request: ServerRequest<Fedattn_V1_JoinRequest>, context: ServerContext) async throws -> ServerResponse<Fedattn_V1_JoinResponse> {
        let client = try await identity(context, request.metadata, joining: true)
        let version = request.message.protocolVersion
        let examples = Int(clamping: request.message.trainExamples)
        try await call { () throws(CoordinatorError) in
            try await coordinator.join(client: client, protocolVersion: version, trainExamples: examples, connection: context.remotePeer)
        }
        let model = coordinator.modelConfig
        let limits = coordinator.limits(
            pieceBytes: Self.pieceBytes, updateChunkBytes: Self.chunkBytes, uploadSlots: Self.uploadSlots, maxMessageBytes: Self.maxMessageBytes)
        // A client of protocol 9 is answered in 9: nothing of the most-popular baseline; one of
        // 10 in 10: nothing of its secure sum.
        return ServerResponse(
            message: Wire.joinResponse(
                client: client, rounds: coordinator.config.rounds, model: model, limits: limits, protocolVersion: version,
                popularity: coordinator.popularityPolicy(protocolVersion: version)))
    }

    func sharePopularity(
        request: ServerRequest<Fedattn_V1_PopularityCounts>, context: ServerContext
    ) async throws -> ServerResponse<Fedattn_V1_PopularityReceipt> {
        let client = try await identity(context, request.metadata)
        let counts = try Wire.shared(request.message, from: client)
        let answer = try await call { () throws(CoordinatorError) in try await coordinator.sharePopularity(client: client, counts: counts) }
        return ServerResponse(
            message: .with {
                $0.pooled = answer.pooled
                $0.message = answer.message
            })
    }

    func nextTask(request: ServerRequest<Fedattn_V1_TaskRequest>, context: ServerContext) async throws -> ServerResponse<Fedattn_V1_Task> {
        let client = try await identity(context, request.metadata)
        let task = try await call { () throws(CoordinatorError) in try await coordinator.nextTask(client: client) }
        return ServerResponse(message: Wire.task(task))
    }

    func downloadModel(request: ServerRequest<Fedattn_V1_ModelRequest>, context: ServerContext) async throws -> ServerResponse<Fedattn_V1_ModelChunk>
    {
        let client = try await identity(context, request.metadata)
        let wanted = request.message
        let maxBytes = wanted.maxBytes == 0 ? Self.pieceBytes : min(Int(wanted.maxBytes), Self.pieceBytes)
        let piece = try await call { () throws(CoordinatorError) in
            try await coordinator.modelPiece(
                version: wanted.modelVersion, base: wanted.baseVersion.isEmpty ? nil : wanted.baseVersion, offset: Int(clamping: wanted.offset),
                maxBytes: maxBytes, for: client)
        }
        return ServerResponse(
            message: .with {
                $0.data = piece.bytes
                $0.totalBytes = UInt64(piece.totalBytes)
                $0.offset = wanted.offset
                $0.deltaFrom = piece.deltaFrom ?? ""
            })
    }

    func reserveUpload(request: ServerRequest<Fedattn_V1_UploadReservation>, context: ServerContext) async throws -> ServerResponse<
        Fedattn_V1_UploadSlot
    > {
        let client = try await identity(context, request.metadata)
        let wanted = request.message
        try await call { () throws(CoordinatorError) in
            try await coordinator.checkUpdateWanted(client: client, round: Int(wanted.round), baseVersion: wanted.baseVersion)
        }
        let granted = await uploads.reserve(client, waiting: .seconds(1))
        return ServerResponse(
            message: .with {
                $0.granted = granted
                $0.retryAfterMs = granted ? 0 : 10
            })
    }

    func uploadUpdate(
        request: StreamingServerRequest<Fedattn_V1_UpdateChunk>, context: ServerContext
    ) async throws -> ServerResponse<Fedattn_V1_UploadReceipt> {
        let client = try await identity(context, request.metadata)
        let limit = coordinator.config.maxUpdateBytes
        // An upload must arrive whole within the limit, or it is cut off: a slow-loris holds nothing.
        let uploadTimeLimit = coordinator.config.uploadTimeout
        // The slot (reserved beforehand, or waited for here) is held until the update is folded
        // in: payloads waiting for the coordinator count toward memory too.
        guard await uploads.claim(client) else {
            throw RPCError(code: .resourceExhausted, message: "an upload from '\(client)' is already being read; one at a time")
        }
        do {
            let (header, payload) = try await withTimeLimit(
                uploadTimeLimit,
                onTimeout: RPCError(code: .deadlineExceeded, message: "the update from '\(client)' did not arrive whole within \(uploadTimeLimit)")
            ) {
                // The update must still be wanted before a byte of its payload is held.
                try await Self.read(request.messages, from: client, limit: limit) { header in
                    try await call { () throws(CoordinatorError) in
                        try await coordinator.checkUpdateWanted(client: client, round: Int(header.round), baseVersion: header.baseVersion)
                    }
                }
            }
            guard let header else { throw RPCError(code: .invalidArgument, message: "the update from '\(client)' has no header") }
            guard UInt64(payload.count) == header.totalBytes else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "the update from '\(client)' declared \(header.totalBytes) bytes in its header but sent \(payload.count)")
            }
            try await call { () throws(CoordinatorError) in
                // Admitted as its header arrived (above): decoded and folded, not admitted again.
                try await coordinator.submitAdmittedUpdate(
                    client: client, round: Int(header.round), baseVersion: header.baseVersion, examples: Int(clamping: header.exampleCount),
                    trainSeconds: header.trainSeconds, payload: payload)
            }
            await uploads.release(client)
            return ServerResponse(
                message: .with {
                    $0.accepted = true
                    $0.message = "update for round \(header.round) counted"
                })
        } catch {
            await uploads.release(client)
            throw error
        }
    }

    /// Reads `client`'s update header and payload, refusing more than `limit` bytes;
    /// `checkHeader` runs on the header before any payload is read.
    /// - Throws: `RPCError` naming the client: INVALID_ARGUMENT for a second header, data
    ///   before the header or past its declared size, an empty chunk; RESOURCE_EXHAUSTED for
    ///   a declared size over `limit`; what `checkHeader` throws.
    private static func read(
        _ messages: RPCAsyncSequence<Fedattn_V1_UpdateChunk, any Error>, from client: String, limit: Int,
        checkHeader: (Fedattn_V1_UpdateHeader) async throws -> Void
    ) async throws -> (
        Fedattn_V1_UpdateHeader?, Data
    ) {
        var header: Fedattn_V1_UpdateHeader?
        var payload = Data()
        for try await chunk in messages {
            switch chunk.part {
            case .header(let h):
                guard header == nil else {
                    throw RPCError(
                        code: .invalidArgument, message: "the update from '\(client)' has a second header; an update has exactly one, first")
                }
                guard h.totalBytes <= UInt64(limit) else {
                    throw RPCError(
                        code: .resourceExhausted, message: "update from '\(client)' of \(h.totalBytes) bytes, over the limit of \(limit)")
                }
                try await checkHeader(h)
                header = h
                payload.reserveCapacity(Int(h.totalBytes))
            case .data(let bytes):
                guard let h = header else {
                    throw RPCError(code: .invalidArgument, message: "the update from '\(client)' sends data before its header")
                }
                guard UInt64(payload.count + bytes.count) <= h.totalBytes else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "the update from '\(client)' sends data past the \(h.totalBytes) bytes its header declared")
                }
                payload.append(bytes)
            case nil:
                throw RPCError(code: .invalidArgument, message: "an update chunk from '\(client)' carries neither header nor data")
            }
        }
        return (header, payload)
    }

    func secureStep(
        request: StreamingServerRequest<Fedattn_V1_SecurePart>, context: ServerContext
    ) async throws -> ServerResponse<Fedattn_V1_SecureReceipt> {
        let client = try await identity(context, request.metadata)
        let timeLimit = coordinator.config.uploadTimeout
        let (header, masked, holdsSlot) = try await withTimeLimit(
            timeLimit,
            onTimeout: RPCError(code: .deadlineExceeded, message: "the secure step from '\(client)' did not arrive whole within \(timeLimit)")
        ) { [self] in try await readSecure(request.messages, from: client) }
        do {
            let reply: SecureReply
            do {
                reply = try SecureWire.reply(header, masked: masked)
            } catch {
                throw RPCError(code: .invalidArgument, message: "secure step from '\(client)': \(error)")
            }
            let bytes = reply.approximateBytes
            try await call { () throws(CoordinatorError) in try await coordinator.submitSecure(client: client, reply: reply, bytes: bytes) }
            if holdsSlot { await uploads.release(client) }
            return ServerResponse(message: Fedattn_V1_SecureReceipt())
        } catch {
            if holdsSlot { await uploads.release(client) }
            throw error
        }
    }

    /// Reads a secure step: its reply, checked as still wanted (and its masked vector's shape
    /// as expected) before a byte of the vector is read; then the vector's bytes, within an
    /// upload slot, refusing more than its shape's. Releases the slot itself when it fails.
    private func readSecure(
        _ messages: RPCAsyncSequence<Fedattn_V1_SecurePart, any Error>, from client: String
    ) async throws -> (Fedattn_V1_SecureReply, Data, holdsSlot: Bool) {
        var header: Fedattn_V1_SecureReply?
        var masked = Data()
        var expectedBytes = 0
        var holdsSlot = false
        do {
            for try await part in messages {
                switch part.part {
                case .reply(let reply):
                    guard header == nil else {
                        throw RPCError(
                            code: .invalidArgument,
                            message: "the secure step from '\(client)' has a second reply; a secure step has exactly one, first")
                    }
                    let phase: SecurePhase
                    do { phase = try SecureWire.phase(reply.phase) } catch {
                        throw RPCError(code: .invalidArgument, message: "secure step from '\(client)': \(error)")
                    }
                    let shape = try await call { () throws(CoordinatorError) in
                        try await coordinator.expectedMasked(client: client, round: Int(reply.round), attempt: Int(reply.attempt), phase: phase)
                    }
                    if let shape, reply.abort.isEmpty {
                        guard reply.maskedCount == UInt64(shape.count), reply.maskedBits == UInt32(shape.bits) else {
                            throw RPCError(
                                code: .invalidArgument,
                                message:
                                    "secure step from '\(client)': a masked vector of \(reply.maskedCount) elements of \(reply.maskedBits) bits, not \(shape.count) of \(shape.bits)"
                            )
                        }
                        expectedBytes = RingPacking.byteCount(count: shape.count, bits: shape.bits)
                        guard await uploads.claim(client) else {
                            throw RPCError(code: .resourceExhausted, message: "an upload from '\(client)' is already being read; one at a time")
                        }
                        holdsSlot = true
                        masked.reserveCapacity(expectedBytes)
                    } else if reply.maskedCount > 0 {
                        throw RPCError(
                            code: .invalidArgument,
                            message: "secure step from '\(client)': \(reply.abort.isEmpty ? "\(phase) carries" : "an abort carries") no masked vector"
                        )
                    }
                    header = reply
                case .masked(let bytes):
                    guard header != nil else {
                        throw RPCError(code: .invalidArgument, message: "the secure step from '\(client)' sends masked bytes before its reply")
                    }
                    guard masked.count + bytes.count <= expectedBytes else {
                        throw RPCError(
                            code: .invalidArgument,
                            message: "the secure step from '\(client)' sends masked bytes past the \(expectedBytes) its vector takes")
                    }
                    masked.append(bytes)
                case nil:
                    throw RPCError(code: .invalidArgument, message: "a secure part from '\(client)' carries neither reply nor masked bytes")
                }
            }
            guard let header else { throw RPCError(code: .invalidArgument, message: "the secure step from '\(client)' has no reply") }
            return (header, masked, holdsSlot)
        } catch {
            if holdsSlot { await uploads.release(client) }
            throw error
        }
    }

    func reportEvaluation(
        request: ServerRequest<Fedattn_V1_EvaluationReport>, context: ServerContext
    ) async throws -> ServerResponse<Fedattn_V1_EvaluationReceipt> {
        let client = try await identity(context, request.metadata)
        let request = request.message
        let report = try Wire.report(request, from: client)
        try await call { () throws(CoordinatorError) in
            try await coordinator.submitEvaluation(client: client, round: Int(request.round), version: request.modelVersion, report: report)
        }
        return ServerResponse(message: Fedattn_V1_EvaluationReceipt())
    }

    /// The caller's name: its certificate's common name, or, on plaintext loopback only,
    /// what it says in the identity header. A known client's first call on a new connection
    /// (its transport reconnected without a Join) makes it present again. A silo the
    /// membership refuses (not listed, or its certificate revoked, perhaps since its last
    /// call) is refused with PERMISSION_DENIED, leaves the federation, and its connection is
    /// closed once the refusal is sent.
    private func identity(_ context: ServerContext, _ metadata: Metadata, joining: Bool = false) async throws -> String {
        guard let name = claimedName(context, metadata) else {
            if case .mutualTLS = security {
                throw RPCError(code: .unauthenticated, message: "the client at \(context.remotePeer) presents no client certificate identity")
            }
            throw RPCError(
                code: .unauthenticated,
                message: "the client at \(context.remotePeer) gives no name: plaintext clients must name themselves in \(Self.insecureIdentityHeader)"
            )
        }
        if let problem = SiloName.problem(with: name) {
            throw RPCError(
                code: .permissionDenied,
                message: "the client's name \(SiloName.quoted(name)) is not a silo name (\(problem)); provision it again under another name")
        }
        if let membership, let refusal = membership.refusal(name: name, serial: certificateSerial(context)) {
            // Dropped: the round under way no longer waits for it, and its connection closes.
            if connections.release(name, from: context.remotePeer) {
                await coordinator.leave(client: name, connection: context.remotePeer)
            }
            connections.close(context.remotePeer)
            throw RPCError(code: .permissionDenied, message: refusal.description)
        }
        switch connections.claim(name, for: context.remotePeer) {
        case .taken(let other):
            throw RPCError(
                code: .alreadyExists, message: "silo '\(name)' is already connected (from \(other)); a second connection with its name is refused")
        case .closed:
            throw RPCError(code: .unavailable, message: "the connection closed while '\(name)' was calling")
        case .granted(let first):
            if first && !joining { await coordinator.reconnected(client: name, connection: context.remotePeer) }
            return name
        }
    }

    /// The name the caller claims (its certificate's common name, or on plaintext the identity
    /// header's), unchecked; nil when it claims none.
    private func claimedName(_ context: ServerContext, _ metadata: Metadata) -> String? {
        let name: String?
        if case .mutualTLS = security {
            name = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate.flatMap { commonName(of: $0) }
        } else {
            name = metadata[stringValues: Self.insecureIdentityHeader].first(where: { _ in true })
        }
        guard let name, !name.isEmpty else { return nil }
        return name
    }

    /// The serial of the caller's certificate; nil without mutual TLS.
    private func certificateSerial(_ context: ServerContext) -> CertificateSerial? {
        guard case .mutualTLS = security else { return nil }
        return (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate.map { serialNumber(of: $0) }
    }

    /// The caller as a refusal names it before its identity is checked (a message the
    /// service would not read): its silo name quoted, a name that is not a silo name quoted
    /// and escaped, or its address when it claims none.
    func caller(_ context: ServerContext, _ metadata: Metadata) -> String {
        guard let name = claimedName(context, metadata) else { return "the client at \(context.remotePeer)" }
        return SiloName.problem(with: name) == nil ? "'\(name)'" : SiloName.quoted(name)
    }

    /// Runs a coordinator call, turning its refusal into the matching gRPC status.
    private func call<T>(_ body: () async throws(CoordinatorError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            let code: RPCError.Code =
                switch error.kind {
                case .protocolMismatch, .notJoined, .otherDownload: .failedPrecondition
                case .stale: .aborted
                case .invalidUpdate, .invalidRequest: .invalidArgument
                case .tooLarge: .resourceExhausted
                case .unknownVersion: .notFound
                case .outOfRange: .outOfRange
                case .unavailable: .unavailable
                default: .unknown
                }
            throw RPCError(code: code, message: error.description)
        }
    }
}
