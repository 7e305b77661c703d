public import Foundation

/// What one client announces in a round's first phase: its two X25519 public keys (32 bytes
/// each), one to encrypt the shares it exchanges, one to agree pairwise masks.
public struct AdvertisedKeys: Sendable, Hashable {
    public let client: Int
    public let encryptionKey: Data
    public let maskingKey: Data

    public init(client: Int, encryptionKey: Data, maskingKey: Data) {
        self.client = client
        self.encryptionKey = encryptionKey
        self.maskingKey = maskingKey
    }
}

/// A client's shares of its self-mask seed and of its masking key for one neighbour,
/// encrypted for that neighbour (the coordinator relays it and cannot read it).
public struct EncryptedShare: Sendable, Hashable {
    public let from: Int
    public let to: Int
    /// ChaChaPoly's combined nonce, ciphertext and tag.
    public let ciphertext: Data

    public init(from: Int, to: Int, ciphertext: Data) {
        self.from = from
        self.to = to
        self.ciphertext = ciphertext
    }
}

/// A client's quantised update plus its self mask and its pairwise masks, mod 2^32.
public struct MaskedInput: Sendable, Hashable {
    public let client: Int
    public let values: [UInt32]

    public init(client: Int, values: [UInt32]) {
        self.client = client
        self.values = values
    }
}

/// What a client reveals in the last phase: for each neighbour that sent its masked input, the
/// share of that neighbour's self-mask seed; for each that dropped after sharing, the share
/// of its masking key. Never both for one neighbour.
public struct UnmaskingShares: Sendable, Hashable {
    public let client: Int
    public let selfMaskShares: [Int: ShamirSharing.Share]
    public let maskingKeyShares: [Int: ShamirSharing.Share]

    public init(client: Int, selfMaskShares: [Int: ShamirSharing.Share], maskingKeyShares: [Int: ShamirSharing.Share]) {
        self.client = client
        self.selfMaskShares = selfMaskShares
        self.maskingKeyShares = maskingKeyShares
    }
}

/// Keys both sides derive: HKDF-SHA256 over an X25519 shared secret, bound to the round and
/// the (ordered) pair, so that no key serves two rounds or two pairs.
public enum SecAggKeys {
    static func context(round: UInt64, _ a: Int, _ b: Int) -> Data {
        var bytes = Data()
        withUnsafeBytes(of: round.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(min(a, b)).littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(max(a, b)).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The holder point of a client in Shamir's scheme (never 0).
    public static func point(_ client: Int) -> UInt64 { UInt64(client) + 1 }
}
