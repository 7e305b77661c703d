import FedAttnTransport
import NIOCore
import NIOEmbedded
import Testing

/// The TLS layer sits where these tests' recorder sits: it must never be handed more than
/// the limit in one read batch or one flush, whatever the socket or HTTP/2 deliver, and
/// every byte must arrive in order.
@Suite struct ConnectionBuffersTests {
    /// Records what reaches the next handler: bytes per read batch, and bytes per flush.
    final class Recorder: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
        var readBatches: [Int] = [0]
        var flushes: [Int] = [0]
        var received: [UInt8] = []
        var buffers: [ByteBuffer] = []
        var sent: [UInt8] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            readBatches[readBatches.count - 1] += buffer.readableBytes
            received += buffer.readableBytesView
            buffers.append(buffer)
        }
        func channelReadComplete(context: ChannelHandlerContext) { readBatches.append(0) }
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let buffer = unwrapOutboundIn(data)
            flushes[flushes.count - 1] += buffer.readableBytes
            sent += buffer.readableBytesView
            promise?.succeed()
        }
        func flush(context: ChannelHandlerContext) { flushes.append(0) }
    }

    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed } }

    @Test func aReadBatchNeverExceedsTheLimit() throws {
        let recorder = Recorder()
        let channel = EmbeddedChannel(handlers: [ReadBatchLimit(bytes: 8 << 10), recorder])
        // Four socket reads in one wake-up, as NIO delivers them: 16 KiB, 5 B, 12 KiB, 3 KiB.
        let reads = [Self.bytes(16 << 10, seed: 1), Self.bytes(5, seed: 2), Self.bytes(12 << 10, seed: 3), Self.bytes(3 << 10, seed: 4)]
        for read in reads { channel.pipeline.fireChannelRead(NIOAny(channel.allocator.buffer(bytes: read))) }
        channel.pipeline.fireChannelReadComplete()
        let batches = recorder.readBatches.filter { $0 > 0 }
        #expect(batches.allSatisfy { $0 <= 8 << 10 }, "batches: \(batches)")
        #expect(batches == [8 << 10, 8 << 10, 8 << 10, reads.map(\.count).reduce(0, +) - 3 * (8 << 10)])
        #expect(recorder.received == reads.flatMap { $0 })
        _ = try channel.finish()
    }

    @Test func whatFollowsTLSNeverHoldsTLSsBuffer() throws {
        let recorder = Recorder()
        let channel = EmbeddedChannel(handlers: [PlaintextCopy(), recorder])
        let batch = channel.allocator.buffer(bytes: Self.bytes(5_000, seed: 7))
        channel.pipeline.fireChannelRead(NIOAny(batch))
        #expect(recorder.received == Self.bytes(5_000, seed: 7))
        let kept = try #require(recorder.buffers.first)
        let tlsMemory = batch.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let keptMemory = kept.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(keptMemory != tlsMemory)
        #expect(kept.capacity <= 8 << 10)
        _ = try channel.finish()
    }

    @Test func aFlushNeverCarriesMoreThanTheLimit() throws {
        let recorder = Recorder()
        let channel = EmbeddedChannel(handlers: [recorder, FlushBatchLimit(bytes: 16_000)])
        // HTTP/2 writing a 127 KiB piece as 9-byte frame headers and 16 KiB payloads, then one flush.
        var writes: [[UInt8]] = []
        for frame in 0..<8 {
            writes.append(Self.bytes(9, seed: UInt8(frame)))
            writes.append(Self.bytes(frame < 7 ? 16 << 10 : 15 << 10, seed: UInt8(100 + frame)))
        }
        let written = writes.map { write in
            let promise = channel.eventLoop.makePromise(of: Void.self)
            channel.write(channel.allocator.buffer(bytes: write), promise: promise)
            return promise.futureResult
        }
        channel.flush()
        let flushes = recorder.flushes.filter { $0 > 0 }
        #expect(flushes.allSatisfy { $0 <= 16_000 }, "flushes: \(flushes)")
        #expect(flushes.count == (writes.map(\.count).reduce(0, +) + 15_999) / 16_000)
        #expect(recorder.sent == writes.flatMap { $0 })
        // Each write's promise completes once, when its last piece has gone.
        for future in written { try future.wait() }
        _ = try channel.finish()
    }
}
