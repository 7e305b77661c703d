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
        for read in reads { channel.pipeline.fireChannelRead(channel.allocator.buffer(bytes: read)) }
        channel.pipeline.fireChannelReadComplete()
        let batches = recorder.readBatches.filter { $0 > 0 }
        #expect(batches.allSatisfy { $0 <= 8 << 10 }, "batches: \(batches)")
        #expect(batches == [8 << 10, 8 << 10, 8 << 10, reads.map(\.count).reduce(0, +) - 3 * (8 << 10)])
        #expect(recorder.received == reads.flatMap { $0 })
        _ = try channel.finish()
    }

    /// A client's side of an HTTP/2 connection as bytes: its preface, then frames of every
    /// kind and size the coordinator sees, and where each frame's header and payload lie.
    static func clientStream() -> (bytes: [UInt8], frames: [(header: Int, payload: Range<Int>, isData: Bool)]) {
        var bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        var frames: [(header: Int, payload: Range<Int>, isData: Bool)] = []
        func frame(type: UInt8, length: Int, seed: UInt8) {
            frames.append((bytes.count, bytes.count + 9..<bytes.count + 9 + length, type == 0))
            bytes += [UInt8(length >> 16), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, 0, 0, 0, 0, 1]
            bytes += Self.bytes(length, seed: seed)
        }
        frame(type: 4, length: 18, seed: 1)  // SETTINGS
        for stream in 0..<6 {
            frame(type: 1, length: 150 + stream, seed: 2)  // HEADERS
            for size in [5, 0, 8_197, 16_384, 13, 1, 9_000] { frame(type: 0, length: size, seed: UInt8(stream)) }
            frame(type: 8, length: 4, seed: 3)  // WINDOW_UPDATE
            frame(type: 1, length: 12_000, seed: 4)  // a large HEADERS frame (trailers)
            frame(type: 6, length: 8, seed: 5)  // PING
        }
        return (bytes, frames)
    }

    @Test func http2IsHandedCopiesThatEndOnlyAtAFrameEndOrInsideDATA() throws {
        let (stream, frames) = Self.clientStream()
        // Where a copy may end: the end of the preface, of any frame, or inside the payload of
        // a DATA frame or of a frame longer than a copy.
        var allowedEnds: Set<Int> = [24]
        for frame in frames {
            allowedEnds.insert(frame.payload.upperBound)
            if frame.isData || 9 + frame.payload.count > 8 << 10, !frame.payload.isEmpty {
                allowedEnds.formUnion(frame.payload.lowerBound + 1..<frame.payload.upperBound)
            }
        }
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<20 {
            let recorder = Recorder()
            let channel = EmbeddedChannel(handlers: [FrameAlignedCopy(bytes: 8 << 10), recorder])
            // TLS's decrypted batches end anywhere: cut the stream at random points.
            var offset = 0
            var batches: [ByteBuffer] = []
            while offset < stream.count {
                let length = min(stream.count - offset, Int.random(in: 1...(trial < 5 ? 40 : 24 << 10), using: &generator))
                let batch = channel.allocator.buffer(bytes: stream[offset..<offset + length])
                batches.append(batch)
                channel.pipeline.fireChannelRead(batch)
                offset += length
            }
            #expect(recorder.received == stream)
            // TLS's memory (the batches, still alive), sorted by address.
            let tlsMemory = batches.map { batch in
                batch.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress)..<UInt(bitPattern: $0.baseAddress) + UInt($0.count) }
            }.sorted { $0.lowerBound < $1.lowerBound }
            var end = 0
            var badEnds: [Int] = []
            var heldTLSMemory = 0
            for copy in recorder.buffers {
                #expect(copy.readableBytes <= 8 << 10)
                #expect(copy.capacity <= 8 << 10)
                end += copy.readableBytes
                if !allowedEnds.contains(end) { badEnds.append(end) }
                let address = copy.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
                // The last of TLS's buffers that starts at or below the copy's address.
                var (low, high) = (0, tlsMemory.count)
                while low < high {
                    let middle = (low + high) / 2
                    if tlsMemory[middle].lowerBound <= address { low = middle + 1 } else { high = middle }
                }
                if low > 0, tlsMemory[low - 1].contains(address) { heldTLSMemory += 1 }
            }
            #expect(badEnds.count == 0, "copies end inside a frame header or a frame other than DATA, at \(badEnds.prefix(5))")
            #expect(heldTLSMemory == 0, "each copy must be memory of its own, not TLS's")
            _ = try channel.finish()
        }
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
