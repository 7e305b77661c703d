import Crypto
import Foundation

/// The coordinator's side of one SecAgg+ round: it relays keys and encrypted shares, takes the
/// masked inputs, and from the survivors' shares removes the masks, learning the sum of the
/// surviving clients' quantised updates and nothing else about any one of them (against a
/// coordinator that follows the protocol; see the README for what it does not cover).
///
/// Clients that drop before sending their masked input are left out of the sum: their
/// pairwise masks are removed with their masking keys, rebuilt from their neighbours' shares.
/// Clients that drop after it are in the sum: their self masks are rebuilt the same way. The
/// round fails (`SecAggError.tooFewSurvivors`) when some mask cannot be rebuilt.
public struct SecAggServer: Sendable {
    public let round: UInt64
    public let threshold: Int
    public let graph: NeighbourGraph
    /// Ring elements of each masked input (the values vector's is known once the round's rows are).
    public var length: Int
    /// The ring is Z_{2^modulusBits}: masked inputs arrive reduced mod 2^modulusBits, and the
    /// unmasked sum is reduced the same way (1...32).
    public var modulusBits: Int
    private var keys: [Int: AdvertisedKeys] = [:]
    private var sharers: Set<Int> = []
    /// Clients whose masked input is in `maskedSum`: only their running sum is kept, never one input.
    private var survivors: Set<Int> = []
    private var maskedSum: [UInt32] = []

    public init(round: UInt64, threshold: Int, graph: NeighbourGraph, length: Int, modulusBits: Int = 32) {
        precondition((1...32).contains(modulusBits), "A ring of 1 to 32 bits.")
        self.round = round
        self.threshold = threshold
        self.graph = graph
        self.length = length
        self.modulusBits = modulusBits
    }

    /// The largest element of the ring, 2^modulusBits - 1.
    public var modulusMask: UInt32 { modulusBits == 32 ? .max : (1 << UInt32(modulusBits)) - 1 }

    /// Phase 0 → 1: the keys each client gets: its neighbours' that advertised.
    public mutating func collectKeys(_ advertised: [AdvertisedKeys]) throws(SecAggError) -> [Int: [AdvertisedKeys]] {
        for k in advertised {
            guard graph.neighbours[k.client] != nil else { throw .protocolViolation("client \(k.client) is not in this round") }
            guard keys[k.client] == nil else { throw .protocolViolation("client \(k.client) advertised twice") }
            keys[k.client] = k
        }
        return Dictionary(
            uniqueKeysWithValues: keys.keys.map { client in (client, graph.neighbours[client]!.compactMap { keys[$0] }) })
    }

    /// Phase 1 → 2: the encrypted shares each client gets (those addressed to it).
    public mutating func collectShares(_ shares: [Int: [EncryptedShare]]) throws(SecAggError) -> [Int: [EncryptedShare]] {
        var inbox: [Int: [EncryptedShare]] = [:]
        for (sender, list) in shares {
            guard keys[sender] != nil else { throw .protocolViolation("client \(sender) shared keys without advertising") }
            for share in list {
                guard share.from == sender, graph.neighbours[sender]?.contains(share.to) == true, keys[share.to] != nil else {
                    throw .protocolViolation("client \(sender) sent a share from \(share.from) to \(share.to)")
                }
                inbox[share.to, default: []].append(share)
            }
            sharers.insert(sender)
        }
        return inbox
    }

    /// Phase 2: adds one masked input to the running sum (it is not kept). Refuses an input
    /// from a client that did not share keys, a second one, one of the wrong length, or one
    /// with an element outside the ring.
    public mutating func addMasked(_ input: MaskedInput) throws(SecAggError) {
        guard sharers.contains(input.client) else { throw .protocolViolation("client \(input.client) sent an input without sharing keys") }
        guard !survivors.contains(input.client) else { throw .protocolViolation("client \(input.client) sent a second masked input") }
        guard input.values.count == length else {
            throw .protocolViolation("client \(input.client) sent \(input.values.count) values, not \(length)")
        }
        let mask = modulusMask
        guard input.values.allSatisfy({ $0 <= mask }) else {
            throw .protocolViolation("client \(input.client) sent values outside the ring of \(modulusBits) bits")
        }
        if maskedSum.isEmpty { maskedSum = [UInt32](repeating: 0, count: length) }
        for i in maskedSum.indices { maskedSum[i] &+= input.values[i] }
        survivors.insert(input.client)
    }

    /// Phase 2 → 3: the survivors every client is told (those whose masked input is in the sum).
    public func closeMasked() throws(SecAggError) -> Set<Int> {
        guard survivors.count >= threshold else {
            throw .tooFewSurvivors("\(survivors.count) masked inputs, the threshold is \(threshold)")
        }
        return survivors
    }

    /// Phase 2 → 3 at once: adds `inputs`, then closes.
    public mutating func collectMasked(_ inputs: [MaskedInput]) throws(SecAggError) -> Set<Int> {
        for input in inputs { try addMasked(input) }
        return try closeMasked()
    }

    /// Phase 3: from the shares the answering clients revealed, the sum of the survivors'
    /// quantised updates, mod 2^32.
    public func unmask(_ responses: [UnmaskingShares]) throws(SecAggError) -> (sum: [UInt32], survivors: [Int]) {
        var selfShares: [Int: [ShamirSharing.Share]] = [:], keyShares: [Int: [ShamirSharing.Share]] = [:]
        for response in responses {
            guard survivors.contains(response.client) else { throw .protocolViolation("client \(response.client) unmasked without an input") }
            guard Set(response.selfMaskShares.keys).isDisjoint(with: response.maskingKeyShares.keys) else {
                throw .protocolViolation("client \(response.client) revealed both kinds of share of one peer")
            }
            for (peer, share) in response.selfMaskShares { selfShares[peer, default: []].append(share) }
            for (peer, share) in response.maskingKeyShares { keyShares[peer, default: []].append(share) }
        }
        var sum = maskedSum.isEmpty ? [UInt32](repeating: 0, count: length) : maskedSum
        // Each survivor's self mask.
        for client in survivors.sorted() {
            let shares = selfShares[client] ?? []
            guard shares.count >= threshold else {
                throw .tooFewSurvivors("client \(client)'s self mask: \(shares.count) shares, the threshold is \(threshold)")
            }
            let seed = try ShamirSharing.combine(Array(shares.prefix(threshold)))
            MaskGenerator.apply(seed: SymmetricKey(data: seed), sign: -1, to: &sum)
        }
        // The pairwise masks survivors agreed with clients that dropped after sharing keys.
        for dropped in sharers.subtracting(survivors).sorted() {
            let shares = keyShares[dropped] ?? []
            guard shares.count >= threshold else {
                throw .tooFewSurvivors("client \(dropped)'s masking key: \(shares.count) shares, the threshold is \(threshold)")
            }
            let raw = try ShamirSharing.combine(Array(shares.prefix(threshold)))
            guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw) else {
                throw .malformedShare("client \(dropped)'s masking key does not rebuild")
            }
            for survivor in (graph.neighbours[dropped] ?? []) where survivors.contains(survivor) {
                guard let peerKey = keys[survivor].flatMap({ try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: $0.maskingKey) }),
                    let secret = try? key.sharedSecretFromKeyAgreement(with: peerKey)
                else { throw .protocolViolation("client \(survivor)'s masking key is unusable") }
                let seed = secret.hkdfDerivedSymmetricKey(
                    using: SHA256.self, salt: Data("fedattn-secagg-mask".utf8), sharedInfo: SecAggKeys.context(round: round, dropped, survivor),
                    outputByteCount: 32)
                // The survivor added sign(survivor -> dropped) * mask: take it back.
                MaskGenerator.apply(seed: seed, sign: survivor < dropped ? -1 : 1, to: &sum)
            }
        }
        // Inputs came reduced mod 2^m: so is their sum, once the masks are off.
        let mask = modulusMask
        if mask != .max { for i in sum.indices { sum[i] &= mask } }
        return (sum, survivors.sorted())
    }
}
