/// A payload that cannot be decoded; each case says why.
public enum CodecError: Error, Equatable, CustomStringConvertible {
    case notZstd
    case truncated
    case tooLarge(declared: Int?, limit: Int)
    /// A zstd frame asking its decoder for a window (`window` bytes, when its header says)
    /// over `limit` bytes (`ZstdFrame.maxWindowLog`).
    case windowTooLarge(window: Int?, limit: Int)
    case zstd(String)
    case malformed(String)
    /// A well-formed payload of other tensors than the layout expected (another model, or
    /// another server optimiser's state).
    case otherLayout(String)

    public var description: String {
        switch self {
        case .notZstd: "the payload is not a zstd frame"
        case .truncated: "the zstd frame is truncated"
        case .tooLarge(let declared?, let limit): "the payload declares \(declared) bytes once decompressed, over the limit of \(limit)"
        case .tooLarge(nil, let limit): "the payload decompresses past the limit of \(limit) bytes"
        case .windowTooLarge(let window?, let limit):
            "the zstd frame asks for a window of \(window) bytes, over the largest accepted, \(limit) (compress with a window of at most \(limit) bytes)"
        case .windowTooLarge(nil, let limit): "a zstd frame asks for a window over the largest accepted, \(limit) bytes"
        case .zstd(let why): "zstd: \(why)"
        case .malformed(let why): "malformed tensor payload: \(why)"
        case .otherLayout(let why): "tensor payload of another layout: \(why)"
        }
    }
}
