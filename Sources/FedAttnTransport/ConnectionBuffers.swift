public import NIOCore
import NIOSSL

/// Keeps the transport buffers of each connection small.
///
/// swift-nio-ssl encrypts everything flushed at once into one buffer, decrypts a whole batch
/// of socket reads into another, and keeps each at its largest size for the life of the
/// connection; HTTP/2's frame parser grows its buffer to hold partial frames and never
/// shrinks it; NIO's socket reads grow to 64 KiB and stay. A model download (127 KiB pieces) and an upload
/// grew these to about 0.4 MB a connection. Reading 16 KiB from the socket at a time, and
/// handing TLS at most `readBatchBytes` per read batch and `flushBatchBytes` per flush,
/// keeps them near one TLS record each. Measured with `fedattn-coordinator bench` at 200
/// clients (heaptrack): heap peak 132 -> 82 MB, updates per second the same or better. 8 KiB
/// socket reads were worse (a 16 KiB record then spans reads and is copied). HTTP/2 gets its
/// own copies of the decrypted stream, cut at frame ends (`FrameAlignedCopy`).
enum ConnectionBuffers {
    static let socketReadBytes = 16 << 10
    static let readBatchBytes = 8 << 10
    /// One TLS record's worth, less room for its header and tag, so that the encrypted batch
    /// fits the TLS handler's initial 16 KiB buffer (a whole 16 KiB batch doubled it).
    static let flushBatchBytes = (16 << 10) - 256
    static let frameCopyBytes = 8 << 10

    /// Bounds `channel`'s buffers: its socket reads and, when it has a TLS handler, the
    /// batches either side of it.
    static func bound(_ channel: any Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            try channel.syncOptions?.setOption(
                ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: socketReadBytes))
            let pipeline = channel.pipeline.syncOperations
            guard let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) else { return }
            try pipeline.addHandler(ReadBatchLimit(bytes: readBatchBytes), position: .before(tls))
            try pipeline.addHandler(FlushBatchLimit(bytes: flushBatchBytes), position: .after(tls))
            try pipeline.addHandler(FrameAlignedCopy(bytes: frameCopyBytes), position: .after(tls))
        }
    }
}

/// Ends a read batch (`channelReadComplete`) every `bytes` of ciphertext, so the TLS handler
/// never decrypts much more than that before passing the plaintext on. An early end of a
/// batch only makes HTTP/2 look at its frames sooner.
public final class ReadBatchLimit: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private var batches: Batches

    public init(bytes: Int) { batches = Batches(bytes: bytes) }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        batches.cut(&buffer, endBatch: { context.fireChannelReadComplete() }) { piece, _ in
            context.fireChannelRead(wrapInboundOut(piece))
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        batches.ended()
        context.fireChannelReadComplete()
    }
}

/// Flushes every `bytes` of plaintext written, splitting larger writes, so the TLS handler
/// never encrypts more than that into its outbound buffer at once. A flush only means
/// "send now"; a write's promise completes with its last piece. A flush here cannot make the
/// socket writable again (and so start new writes in the middle of this one): the socket
/// then either has nothing pending, or waits for the kernel and leaves the flush to it, and
/// one batch is far below NIO's 64 KiB mark for unwritable.
public final class FlushBatchLimit: ChannelOutboundHandler {
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var batches: Batches

    public init(bytes: Int) { batches = Batches(bytes: bytes) }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        guard buffer.readableBytes > 0 else { return context.write(data, promise: promise) }
        batches.cut(&buffer, endBatch: { context.flush() }) { piece, last in
            context.write(wrapOutboundOut(piece), promise: last ? promise : nil)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        batches.ended()
        context.flush()
    }
}

/// Hands HTTP/2 its own copies of the decrypted stream, cut so that each copy is at most
/// `bytes` long and ends at the end of a frame or inside a DATA frame's payload: never inside
/// a frame header or another kind of frame. HTTP/2's frame parser appends what it is handed
/// to the bytes it has not parsed yet, in one buffer that it never compacts nor shrinks for
/// the life of the connection; handed TLS's decrypted batches, whose ends fall anywhere, it
/// kept a partial frame at the end of one batch, appended the next batch after it, and grew
/// to 64 KiB a connection. Handed these copies, it parses each one whole, so its buffer stays
/// within one copy. Holding no reference to TLS's plaintext buffer also lets TLS reuse it.
public final class FrameAlignedCopy: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    static let frameHeaderBytes = 9
    static let dataFrameType: UInt8 = 0
    static let clientPrefaceBytes = 24

    let bytes: Int
    /// The client's connection preface (24 bytes) comes before the first frame.
    private var prefaceExpected: Bool
    /// Bytes of the current frame's payload that may be cut anywhere, not yet handed on.
    private var payloadLeft = 0
    /// The start of a frame (or preface) that the last batch ended inside.
    private var carried: ByteBuffer?

    /// - Parameters:
    ///   - bytes: the longest copy; a frame other than DATA that is longer is cut too.
    ///   - expectsClientPreface: true on a server's connection.
    public init(bytes: Int, expectsClientPreface: Bool = true) {
        precondition(bytes >= 2 * Self.clientPrefaceBytes, "A copy holds at least a frame header and a preface.")
        self.bytes = bytes
        self.prefaceExpected = expectsClientPreface
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if var carried {
            self.carried = nil
            carried.writeBuffer(&input)
            input = carried
        }
        while input.readableBytes > 0 {
            let length = nextCopyLength(input)
            guard length > 0 else {
                // The rest is the start of a frame: keep a copy until the rest of it arrives.
                var start = context.channel.allocator.buffer(capacity: input.readableBytes)
                start.writeBuffer(&input)
                carried = start
                return
            }
            var copy = context.channel.allocator.buffer(capacity: length)
            copy.writeImmutableBuffer(input.readSlice(length: length)!)
            context.fireChannelRead(wrapInboundOut(copy))
        }
    }

    /// How many of `input`'s bytes the next copy takes (0: they start a frame that has not
    /// arrived whole), advancing the frame-tracking state past them.
    private func nextCopyLength(_ input: ByteBuffer) -> Int {
        var length = 0
        while length < bytes, input.readableBytes > length {
            let available = input.readableBytes - length
            let room = bytes - length
            if payloadLeft > 0 {
                let taken = min(payloadLeft, available, room)
                length += taken
                payloadLeft -= taken
                continue
            }
            if prefaceExpected {
                guard available >= Self.clientPrefaceBytes, room >= Self.clientPrefaceBytes else { break }
                prefaceExpected = false
                length += Self.clientPrefaceBytes
                continue
            }
            guard available >= Self.frameHeaderBytes else { break }
            let at = input.readerIndex + length
            let payload = Int(input.getInteger(at: at, as: UInt16.self)!) << 8 | Int(input.getInteger(at: at + 2, as: UInt8.self)!)
            let isData = input.getInteger(at: at + 3, as: UInt8.self)! == Self.dataFrameType
            let frame = Self.frameHeaderBytes + payload
            if isData || frame > bytes {
                // Its payload may be cut anywhere (the parser hands DATA on in pieces and
                // only accumulates an oversized frame): take the header and at least one
                // payload byte, or leave it all to the next copy.
                let needed = Self.frameHeaderBytes + min(payload, 1)
                guard room >= needed, available >= needed else { break }
                length += Self.frameHeaderBytes
                payloadLeft = payload
            } else {
                guard room >= frame, available >= frame else { break }
                length += frame
            }
        }
        return length
    }
}

/// Cuts a stream of buffers into batches of at most `bytes`, without copying.
struct Batches {
    let bytes: Int
    private var filled = 0

    init(bytes: Int) {
        precondition(bytes >= 1, "A batch holds at least one byte.")
        self.bytes = bytes
    }

    /// Hands `buffer` on as pieces, calling `endBatch` whenever the current batch is full
    /// and more follows; `last` marks the buffer's final piece.
    mutating func cut(_ buffer: inout ByteBuffer, endBatch: () -> Void, piece: (_ piece: ByteBuffer, _ last: Bool) -> Void) {
        while buffer.readableBytes > 0 {
            if filled == bytes {
                endBatch()
                filled = 0
            }
            let next = buffer.readSlice(length: min(buffer.readableBytes, bytes - filled))!
            filled += next.readableBytes
            piece(next, buffer.readableBytes == 0)
        }
    }

    /// The batch was ended from outside (a flush, the end of a read).
    mutating func ended() { filled = 0 }
}
