import Crypto
import Foundation

/// One client's side of one SecAgg+ round (Bonawitz et al., CCS 2017, semi-honest variant;
/// Bell et al., CCS 2020, with the neighbour graph). Four calls, one per phase, in order:
/// `advertise`, `shareKeys`, `maskInput`, `unmask`. Each refuses what breaks the protocol.
/// One task drives it, phase after phase (it is handed between awaits, never shared).
public final class SecAggClient: @unchecked Sendable {
    public let id: Int
    public let round: UInt64
    public let threshold: Int
    /// Its neighbours in the round's graph.
    public let neighbours: Set<Int>

    private let encryptionKey = Curve25519.KeyAgreement.PrivateKey()
    private let maskingKey = Curve25519.KeyAgreement.PrivateKey()
    private let selfMaskSeed: [UInt8]
    private var peers: [Int: AdvertisedKeys] = [:]
    /// Neighbours whose shares arrived (U1 among the neighbours), and their shares.
    private var received: [Int: (selfMask: ShamirSharing.Share, maskingKey: ShamirSharing.Share)] = [:]
    private var phase = 0
    private var agreedShareKeys: [Int: SymmetricKey] = [:]

    public init(id: Int, round: UInt64, threshold: Int, neighbours: [Int]) {
        precondition(!neighbours.contains(id), "A client is not its own neighbour.")
        self.id = id
        self.round = round
        self.threshold = threshold
        self.neighbours = Set(neighbours)
        var generator = SystemRandomNumberGenerator()
        selfMaskSeed = (0..<ShamirSharing.secretBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// Phase 0: the public keys to announce.
    public func advertise() -> AdvertisedKeys {
        phase = 1
        return AdvertisedKeys(
            client: id, encryptionKey: encryptionKey.publicKey.rawRepresentation, maskingKey: maskingKey.publicKey.rawRepresentation)
    }

    /// Phase 1: given the keys of the neighbours that advertised, shares of the self-mask
    /// seed and of the masking key, one encrypted for each of them.
    public func shareKeys(_ advertised: [AdvertisedKeys]) throws(SecAggError) -> [EncryptedShare] {
        guard phase == 1 else { throw .protocolViolation("client \(id): keys shared out of order") }
        for keys in advertised {
            guard neighbours.contains(keys.client) else { throw .protocolViolation("client \(id): \(keys.client) is not a neighbour") }
            guard keys.encryptionKey.count == 32, keys.maskingKey.count == 32 else {
                throw .protocolViolation("client \(id): \(keys.client)'s keys are not 32-byte X25519 keys")
            }
            peers[keys.client] = keys
        }
        guard peers.count >= threshold else {
            throw .tooFewSurvivors("client \(id): \(peers.count) neighbours advertised keys, the threshold is \(threshold)")
        }
        let holders = peers.keys.sorted()
        let selfShares = ShamirSharing.split(selfMaskSeed, threshold: threshold, holders: holders.map(SecAggKeys.point))
        let keyShares = ShamirSharing.split(Array(maskingKey.rawRepresentation), threshold: threshold, holders: holders.map(SecAggKeys.point))
        phase = 2
        return try zip(holders, zip(selfShares, keyShares)).map { (peer, shares) throws(SecAggError) in
            var plain = Data()
            for value in shares.0.values + shares.1.values { withUnsafeBytes(of: value.littleEndian) { plain.append(contentsOf: $0) } }
            let key = try shareKey(with: peer)
            guard let sealed = try? ChaChaPoly.seal(plain, using: key, authenticating: associatedData(from: id, to: peer)) else {
                throw .protocolViolation("client \(id): could not encrypt a share")
            }
            return EncryptedShare(from: id, to: peer, ciphertext: sealed.combined)
        }
    }

    /// Phase 2: the quantised update masked, given the shares addressed to this client (their
    /// senders are the neighbours that reached phase 1: the pairwise masks are agreed with them),
    /// reduced mod 2^`modulusBits` (the ring the sum fits in; 32: no reduction).
    public func maskInput(_ quantized: [UInt32], shares: [EncryptedShare], modulusBits: Int = 32) throws(SecAggError) -> MaskedInput {
        guard phase == 2 else { throw .protocolViolation("client \(id): input masked out of order") }
        for share in shares {
            guard share.to == id, peers[share.from] != nil else {
                throw .protocolViolation(
                    "client \(id): a share from \(share.from) to \(share.to) is not for it, or from no neighbour that advertised")
            }
            let key = try shareKey(with: share.from)
            guard let box = try? ChaChaPoly.SealedBox(combined: share.ciphertext),
                let plain = try? ChaChaPoly.open(box, using: key, authenticating: associatedData(from: share.from, to: id)),
                plain.count == 2 * ShamirSharing.chunks * 8
            else { throw .malformedShare("client \(id): the share from \(share.from) does not decrypt") }
            let values = plain.withUnsafeBytes { raw in
                (0..<(2 * ShamirSharing.chunks)).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
            }
            let point = SecAggKeys.point(id)
            received[share.from] = (
                ShamirSharing.Share(x: point, values: Array(values[..<ShamirSharing.chunks])),
                ShamirSharing.Share(x: point, values: Array(values[ShamirSharing.chunks...]))
            )
        }
        guard received.count >= threshold else {
            throw .tooFewSurvivors("client \(id): \(received.count) neighbours shared keys, the threshold is \(threshold)")
        }
        var masked = quantized
        MaskGenerator.apply(seed: SymmetricKey(data: selfMaskSeed), sign: 1, to: &masked)
        for peer in received.keys.sorted() {
            // +mask toward a higher id, -mask toward a lower one: each pair's masks cancel in the sum.
            MaskGenerator.apply(seed: try pairwiseSeed(with: peer), sign: id < peer ? 1 : -1, to: &masked)
        }
        if modulusBits < 32 {
            let mask = (UInt32(1) << UInt32(max(modulusBits, 1))) - 1
            for i in masked.indices { masked[i] &= mask }
        }
        phase = 3
        return MaskedInput(client: id, values: masked)
    }

    /// Phase 3: given the clients whose masked input the coordinator holds, the shares that
    /// remove the masks: self-mask shares of those neighbours, masking-key shares of the
    /// neighbours that shared keys and then dropped. Refuses a survivor set with a client
    /// that never shared keys, or smaller than the threshold.
    public func unmask(survivors: Set<Int>) throws(SecAggError) -> UnmaskingShares {
        guard phase == 3 else { throw .protocolViolation("client \(id): unmasking out of order") }
        guard survivors.contains(id) else { throw .protocolViolation("client \(id): asked to unmask a round it is not counted in") }
        let survivingNeighbours = survivors.intersection(neighbours)
        guard survivingNeighbours.isSubset(of: Set(received.keys)) else {
            throw .protocolViolation(
                "client \(id): survivors that never shared keys with it: \(survivingNeighbours.subtracting(received.keys).sorted())")
        }
        guard survivors.count >= threshold else {
            throw .tooFewSurvivors("client \(id): \(survivors.count) clients survived, the threshold is \(threshold)")
        }
        var selfMasks: [Int: ShamirSharing.Share] = [:], keys: [Int: ShamirSharing.Share] = [:]
        for (peer, shares) in received {
            // One kind per peer, decided here: a survivor's masking key or a dropped peer's
            // self mask would unmask an individual input.
            if survivors.contains(peer) { selfMasks[peer] = shares.selfMask } else { keys[peer] = shares.maskingKey }
        }
        phase = 4
        return UnmaskingShares(client: id, selfMaskShares: selfMasks, maskingKeyShares: keys)
    }

    /// The key shares to and from `peer` are encrypted under: agreed once (an X25519
    /// multiplication), used for both directions.
    private func shareKey(with peer: Int) throws(SecAggError) -> SymmetricKey {
        if let known = agreedShareKeys[peer] { return known }
        let key = try agreedKey(private: encryptionKey, peerKey: peers[peer]?.encryptionKey, peer: peer, salt: "fedattn-secagg-share")
        agreedShareKeys[peer] = key
        return key
    }

    private func pairwiseSeed(with peer: Int) throws(SecAggError) -> SymmetricKey {
        try agreedKey(private: maskingKey, peerKey: peers[peer]?.maskingKey, peer: peer, salt: "fedattn-secagg-mask")
    }

    private func agreedKey(private key: Curve25519.KeyAgreement.PrivateKey, peerKey: Data?, peer: Int, salt: String) throws(SecAggError)
        -> SymmetricKey
    {
        guard let peerKey, let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerKey),
            let secret = try? key.sharedSecretFromKeyAgreement(with: publicKey),
            // A small-order key makes the secret zero, known to everyone.
            secret.withUnsafeBytes({ $0.contains { $0 != 0 } })
        else { throw .protocolViolation("client \(id): no usable key of \(peer)") }
        return secret.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: Data(salt.utf8), sharedInfo: SecAggKeys.context(round: round, id, peer), outputByteCount: 32)
    }

    private func associatedData(from: Int, to: Int) -> Data {
        var data = SecAggKeys.context(round: round, from, to)
        withUnsafeBytes(of: UInt32(from).littleEndian) { data.append(contentsOf: $0) }  // the direction
        return data
    }
}
