import FedAttnProtocol
import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

/// How the service reads request messages: as the generated code registers its methods, but
/// through `BoundedDeserializer`, so that a message over `maxMessageBytes` is refused with
/// RESOURCE_EXHAUSTED, and one that is not protobuf with INVALID_ARGUMENT, each naming the
/// client. (The transport alone would reset the stream of a message over its limit, and the
/// client would see CANCELLED with no reason.)
extension CoordinatorService {
    /// Registers every method of the `Federation` service, as the generated code would. (A
    /// test sends an oversized message to each method of the generated list,
    /// `Fedattn_V1_Federation.Method.descriptors`: one missing here would answer UNIMPLEMENTED.)
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        typealias Method = Fedattn_V1_Federation.Method
        register(Method.Join.descriptor, on: &router) {
            (request: StreamingServerRequest<Fedattn_V1_JoinRequest>, context: ServerContext) async throws -> StreamingServerResponse<
                Fedattn_V1_JoinResponse
            > in
            try await self.join(request: request, context: context)
        }
        register(Method.SharePopularity.descriptor, on: &router) {
            (request: StreamingServerRequest<Fedattn_V1_PopularityCounts>, context: ServerContext) async throws -> StreamingServerResponse<
                Fedattn_V1_PopularityReceipt
            > in
            try await self.sharePopularity(request: request, context: context)
        }
        register(Method.NextTask.descriptor, on: &router) {
            (request: StreamingServerRequest<Fedattn_V1_TaskRequest>, context: ServerContext) async throws -> StreamingServerResponse<
                Fedattn_V1_Task
            > in
            try await self.nextTask(request: request, context: context)
        }
        register(Method.DownloadModel.descriptor, on: &router) {
            (request: StreamingServerRequest<Fedattn_V1_ModelRequest>, context: ServerContext) async throws -> StreamingServerResponse<
                Fedattn_V1_ModelChunk
            > in
            try await self.downloadModel(request: request, context: context)
        }
        register(Method.SecureStep.descriptor, on: &router) {
            (request: StreamingServerRequest<Fedattn_V1_SecurePart>, context: ServerContext) async throws -> StreamingServerResponse<
                Fedattn_V1_SecureReceipt
            > in
            try await self.secureStep(request: request, context: context)
        }
        register(Method.ReserveUpload.descriptor, on: &router) {
            (request: StreamingServerRequest<Fedattn_V1_UploadReservation>, context: ServerContext) async throws -> StreamingServerResponse<
                Fedattn_V1_UploadSlot
            > in
            try await self.reserveUpload(request: request, context: context)
        }
        register(Method.UploadUpdate.descriptor, on: &router) {
            (request: StreamingServerRequest<Fedattn_V1_UpdateChunk>, context: ServerContext) async throws -> StreamingServerResponse<
                Fedattn_V1_UploadReceipt
            > in
            try await self.uploadUpdate(request: request, context: context)
        }
        register(Method.ReportEvaluation.descriptor, on: &router) {
            (request: StreamingServerRequest<Fedattn_V1_EvaluationReport>, context: ServerContext) async throws -> StreamingServerResponse<
                Fedattn_V1_EvaluationReceipt
            > in
            try await self.reportEvaluation(request: request, context: context)
        }
    }

    /// Registers `handler` for `method`, reading its messages through `BoundedDeserializer`;
    /// a message it would not read becomes the refusal naming the caller.
    private func register<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message, Transport: ServerTransport>(
        _ method: MethodDescriptor, on router: inout RPCRouter<Transport>,
        _ handler: @escaping @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) {
        router.registerHandler(
            forMethod: method, deserializer: BoundedDeserializer<Input>(limit: Self.maxMessageBytes), serializer: ProtobufSerializer<Output>()
        ) { request, context in
            do {
                return try await handler(request, context)
            } catch let unread as UnreadMessage {
                throw unread.refusal(method: context.descriptor.method, from: self.caller(context, request.metadata))
            }
        }
    }
}

/// A request message the service did not read: over the size limit, or not protobuf.
struct UnreadMessage: Error {
    enum Reason {
        case tooLarge(limit: Int)
        case notProtobuf(String)
    }
    /// The message's size in bytes.
    let bytes: Int
    let reason: Reason

    /// The refusal a client hears: RESOURCE_EXHAUSTED for a message over the limit,
    /// INVALID_ARGUMENT for one that is not the method's message; both name `client` (as
    /// `CoordinatorService.caller` writes it) and `method`.
    func refusal(method: String, from client: String) -> RPCError {
        switch reason {
        case .tooLarge(let limit):
            RPCError(
                code: .resourceExhausted,
                message:
                    "a \(method) message of \(bytes) bytes from \(client), over the \(limit) bytes a message may take (Limits.max_message_bytes): payloads travel in chunks"
            )
        case .notProtobuf(let why):
            RPCError(code: .invalidArgument, message: "a \(method) message of \(bytes) bytes from \(client) is not the protobuf it should be: \(why)")
        }
    }
}

/// Reads a request message as the generated code does (`ProtobufDeserializer`), but first
/// refuses one over `limit` bytes, before any of it is parsed; what it will not read is an
/// `UnreadMessage`, which the service turns into a refusal naming the client.
struct BoundedDeserializer<Message: SwiftProtobuf.Message>: MessageDeserializer {
    let limit: Int

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Message {
        let bytes = serializedMessageBytes.count
        guard bytes <= limit else { throw UnreadMessage(bytes: bytes, reason: .tooLarge(limit: limit)) }
        do {
            return try ProtobufDeserializer<Message>().deserialize(serializedMessageBytes)
        } catch {
            let cause = (error as? RPCError)?.cause.map { "\($0)" } ?? "\(error)"
            throw UnreadMessage(bytes: bytes, reason: .notProtobuf("cannot read it as \(Message.protoMessageName) (\(cause))"))
        }
    }
}
