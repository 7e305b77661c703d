public import FedAttnSecAgg
import Foundation

/// What a client needs, in its training task, to take part in a secure round: its place in
/// the round's SecAgg+ graph and how to quantise (protocol `SecurePlan`).
public struct SecurePlan: Sendable, Hashable {
    /// The client's id in this round's graph (0..<clients).
    public var id: Int
    /// The round's attempt (from 1): a retried round has a new graph and new keys.
    public var attempt: Int
    /// A random session id (63 bits) that binds the round's keys: no key serves two rounds,
    /// attempts or coordinators' lives, even after a restart repeats a round's number.
    public var session: UInt64
    /// Clients selected for the round: the indicators' lane width depends on it.
    public var clients: Int
    /// The ids it agrees masks with, sorted.
    public var neighbours: [Int]
    /// Shares needed to rebuild a secret.
    public var threshold: Int
    /// Its weight in the round's mean: its training examples over the selected clients' total.
    public var weight: Float
    /// Quantisation: clip range and bits.
    public var clip: Float
    public var bits: Int

    /// The session of sum `sum` (0: indicators, 1: values): `session` with the sum in its low bit.
    public static func session(_ session: UInt64, sum: Int) -> UInt64 { session << 1 | UInt64(sum & 1) }

    public init(
        id: Int, attempt: Int, session: UInt64, clients: Int, neighbours: [Int], threshold: Int, weight: Float, clip: Float, bits: Int
    ) {
        self.id = id
        self.attempt = attempt
        self.session = session
        self.clients = clients
        self.neighbours = neighbours
        self.threshold = threshold
        self.weight = weight
        self.clip = clip
        self.bits = bits
    }
}

/// The phases of a secure round after local training (issue 13's design). Two secure sums
/// share one key exchange: (0) marks of the rows no silo trained before, whose sum tells
/// which rows are new; (1) the weighted values over every row known. Each sum has its own keys and secrets,
/// so a client that drops between them never has both kinds of share of one secret revealed.
public enum SecurePhase: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Training ends with both sums' public keys (the training phase collects them).
    case advertise = 0
    /// Encrypted shares of both sums' secrets, for each neighbour.
    case shareKeys
    /// The indicators, masked (sum 0).
    case maskIndicators
    /// Shares that remove sum 0's masks.
    case unmaskIndicators
    /// The values over the rows known, masked (sum 1).
    case maskValues
    /// Shares that remove sum 1's masks.
    case unmaskValues

    public var description: String {
        switch self {
        case .advertise: "advertise keys"
        case .shareKeys: "share keys"
        case .maskIndicators: "masked row indicators"
        case .unmaskIndicators: "unmask row indicators"
        case .maskValues: "masked values"
        case .unmaskValues: "unmask values"
        }
    }

    /// The sum a masking or unmasking phase belongs to.
    var sum: Int { self == .maskValues || self == .unmaskValues ? 1 : 0 }
}

/// A secure round's task for one client after training (protocol `SecureTask`): the phase,
/// and what the coordinator relays for it.
public struct SecureTask: Sendable, Equatable {
    public var round: Int
    public var attempt: Int
    public var phase: SecurePhase
    /// shareKeys: the neighbours' public keys, per sum.
    public var peerKeys: [[AdvertisedKeys]] = [[], []]
    /// maskIndicators: the shares addressed to this client, per sum.
    public var shares: [[EncryptedShare]] = [[], []]
    /// unmask phases: the clients whose masked input the coordinator holds.
    public var survivors: [Int] = []
    /// maskIndicators: the rows some silo trained in an earlier round (not announced again);
    /// maskValues: the rows the values run over (those and this round's new ones).
    public var rows: RowSet?
    /// maskIndicators (protocol 11): the indicator vector also carries the silo's item counts
    /// and its shared flag, 2V + 1 elements in the ring of 32 bits (`CountedIndicators`).
    public var carriesPopularityCounts = false

    public init(round: Int, attempt: Int, phase: SecurePhase) {
        self.round = round
        self.attempt = attempt
        self.phase = phase
    }
}

/// A client's answer to a secure phase (protocol `SecureReply`).
public struct SecureReply: Sendable, Equatable {
    public var round: Int
    public var attempt: Int
    public var phase: SecurePhase
    /// advertise: the version it trained from, its examples and training seconds, and its
    /// public keys for both sums.
    public var baseVersion = ""
    public var examples = 0
    public var trainSeconds = 0.0
    public var keys: [AdvertisedKeys] = []
    /// shareKeys: its encrypted shares, per sum.
    public var shares: [[EncryptedShare]] = [[], []]
    /// maskIndicators, maskValues: the masked vector, each element below 2^`maskedBits`.
    public var masked: [UInt32] = []
    /// The ring's bits, the elements' width on the wire: for the indicators 16, or 32 when they
    /// carry counts; for the values the bits that hold the round's sum (`RingQuantizer.ringBits`).
    public var maskedBits = 32
    /// unmask phases: the shares it reveals.
    public var unmasking: UnmaskingShares?
    /// Any phase after advertising: why this client cannot go on in this round (the round
    /// then stops waiting for it). Nothing else is read from an aborting reply.
    public var abort: String?

    public init(round: Int, attempt: Int, phase: SecurePhase) {
        self.round = round
        self.attempt = attempt
        self.phase = phase
    }

    /// Bytes on the wire, roughly (for the bytes-up figure): keys, shares, vectors.
    public var approximateBytes: Int {
        keys.count * 64 + shares.joined().reduce(0) { $0 + 8 + $1.ciphertext.count } + (masked.count * maskedBits + 7) / 8
            + (unmasking.map { ($0.selfMaskShares.count + $0.maskingKeyShares.count) * (8 + 8 * 5) } ?? 0) + (abort?.utf8.count ?? 0) + 32
    }
}
