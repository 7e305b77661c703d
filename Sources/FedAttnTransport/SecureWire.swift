package import FedAttnFederation
package import FedAttnProtocol
import FedAttnSecAgg
package import Foundation
import SwiftProtobuf

/// Secure aggregation's messages to and from protocol 8's (see fedattn.proto, "Secure
/// aggregation"). Reading checks what a hostile peer could break (enum values, id ranges,
/// a masked vector's byte count); what the round's graph allows is the coordinator's check.
/// Package-wide so that the fuzz tests (`WireFuzzTests`) read what a peer sends as the service does.
package enum SecureWire {
    package struct Malformed: Error, CustomStringConvertible {
        package let description: String
    }

    static func phase(_ p: SecurePhase) -> Fedattn_V1_SecurePhase { Fedattn_V1_SecurePhase(rawValue: p.rawValue + 1) ?? .unspecified }

    package static func phase(_ p: Fedattn_V1_SecurePhase) throws(Malformed) -> SecurePhase {
        guard let phase = SecurePhase(rawValue: p.rawValue - 1) else { throw Malformed(description: "an unknown secure phase (\(p.rawValue))") }
        return phase
    }

    static func id(_ value: UInt32) -> Int { Int(value) }

    // MARK: Keys and shares

    static func keys(_ k: AdvertisedKeys) -> Fedattn_V1_PublicKeys {
        .with {
            $0.client = UInt32(k.client)
            $0.encryptionKey = k.encryptionKey
            $0.maskingKey = k.maskingKey
        }
    }

    static func keys(_ k: Fedattn_V1_PublicKeys) -> AdvertisedKeys {
        AdvertisedKeys(client: id(k.client), encryptionKey: k.encryptionKey, maskingKey: k.maskingKey)
    }

    static func share(_ s: EncryptedShare) -> Fedattn_V1_EncryptedShare {
        .with {
            $0.from = UInt32(s.from)
            $0.to = UInt32(s.to)
            $0.ciphertext = s.ciphertext
        }
    }

    static func share(_ s: Fedattn_V1_EncryptedShare) -> EncryptedShare { EncryptedShare(from: id(s.from), to: id(s.to), ciphertext: s.ciphertext) }

    static func shamir(_ shares: [Int: ShamirSharing.Share]) -> [Fedattn_V1_ShamirShare] {
        shares.sorted { $0.key < $1.key }.map { peer, share in
            .with {
                $0.peer = UInt32(peer)
                $0.x = share.x
                $0.values = share.values
            }
        }
    }

    static func shamir(_ shares: [Fedattn_V1_ShamirShare]) throws(Malformed) -> [Int: ShamirSharing.Share] {
        var out: [Int: ShamirSharing.Share] = [:]
        for s in shares {
            guard out[id(s.peer)] == nil else { throw Malformed(description: "two shares of peer \(s.peer)") }
            out[id(s.peer)] = ShamirSharing.Share(x: s.x, values: s.values)
        }
        return out
    }

    // MARK: Plan, task, reply

    static func plan(_ p: SecurePlan) -> Fedattn_V1_SecurePlan {
        .with {
            $0.id = UInt32(p.id)
            $0.attempt = UInt32(p.attempt)
            $0.clients = UInt32(p.clients)
            $0.neighbours = p.neighbours.map(UInt32.init)
            $0.threshold = UInt32(p.threshold)
            $0.weight = p.weight
            $0.clip = p.clip
            $0.bits = UInt32(p.bits)
            $0.session = p.session
        }
    }

    static func plan(_ p: Fedattn_V1_SecurePlan) -> SecurePlan {
        SecurePlan(
            id: id(p.id), attempt: Int(p.attempt), session: p.session, clients: Int(p.clients), neighbours: p.neighbours.map(id),
            threshold: Int(p.threshold),
            weight: p.weight, clip: p.clip, bits: Int(p.bits))
    }

    package static func task(_ t: SecureTask) -> Fedattn_V1_SecureTask {
        .with {
            $0.round = UInt32(t.round)
            $0.attempt = UInt32(t.attempt)
            $0.phase = phase(t.phase)
            $0.peerKeys = t.peerKeys.map { list in .with { $0.keys = list.map(keys) } }
            $0.shares = t.shares.map { list in .with { $0.shares = list.map(share) } }
            $0.survivors = t.survivors.map(UInt32.init)
            if let rows = t.rows {
                $0.rows = rows.data
                $0.rowCount = UInt64(rows.rows)
            }
            $0.carriesPopularityCounts = t.carriesPopularityCounts
        }
    }

    package static func task(_ t: Fedattn_V1_SecureTask) throws(Malformed) -> SecureTask {
        var task = SecureTask(round: Int(t.round), attempt: Int(t.attempt), phase: try phase(t.phase))
        if !t.peerKeys.isEmpty { task.peerKeys = t.peerKeys.map { $0.keys.map(keys) } }
        if !t.shares.isEmpty { task.shares = t.shares.map { $0.shares.map(share) } }
        task.survivors = t.survivors.map(id)
        if t.rowCount > 0 || !t.rows.isEmpty {
            guard t.rowCount <= UInt64(Int32.max), let rows = RowSet(rows: Int(t.rowCount), bitmap: t.rows) else {
                throw Malformed(description: "a row bitmap of \(t.rows.count) bytes for \(t.rowCount) rows")
            }
            task.rows = rows
        }
        task.carriesPopularityCounts = t.carriesPopularityCounts
        return task
    }

    package static func reply(_ r: SecureReply) -> Fedattn_V1_SecureReply {
        .with {
            $0.round = UInt32(r.round)
            $0.attempt = UInt32(r.attempt)
            $0.phase = phase(r.phase)
            $0.baseVersion = r.baseVersion
            $0.exampleCount = UInt64(r.examples)
            $0.trainSeconds = r.trainSeconds
            $0.keys = r.keys.map(keys)
            $0.shares = r.shares.map { list in .with { $0.shares = list.map(share) } }
            if !r.masked.isEmpty {
                $0.maskedCount = UInt64(r.masked.count)
                $0.maskedBits = UInt32(r.maskedBits)
            }
            if let abort = r.abort { $0.abort = abort }
            if let u = r.unmasking {
                $0.selfMaskShares = shamir(u.selfMaskShares)
                $0.maskingKeyShares = shamir(u.maskingKeyShares)
            }
        }
    }

    /// The reply as read, its masked vector unpacked from `masked` (the bytes that followed
    /// it). Unmasking shares name no sender (-1): the coordinator names it from the caller.
    package static func reply(_ r: Fedattn_V1_SecureReply, masked: Data) throws(Malformed) -> SecureReply {
        var reply = SecureReply(round: Int(r.round), attempt: Int(r.attempt), phase: try phase(r.phase))
        reply.baseVersion = r.baseVersion
        reply.abort = r.abort.isEmpty ? nil : String(r.abort.prefix(1_000))
        reply.examples = Int(clamping: r.exampleCount)
        guard r.trainSeconds.isFinite, r.trainSeconds >= 0 else { throw Malformed(description: "train_seconds must be finite and non-negative") }
        reply.trainSeconds = r.trainSeconds
        reply.keys = r.keys.map(keys)
        if !r.shares.isEmpty { reply.shares = r.shares.map { $0.shares.map(share) } }
        if r.maskedCount > 0 {
            reply.maskedBits = Int(r.maskedBits)
            do {
                reply.masked = try RingPacking.unpack(masked, count: Int(clamping: r.maskedCount), bits: Int(r.maskedBits))
            } catch {
                throw Malformed(description: "\(error)")
            }
        } else if !masked.isEmpty {
            throw Malformed(description: "masked bytes without a masked_count")
        }
        if reply.phase == .unmaskIndicators || reply.phase == .unmaskValues {
            reply.unmasking = UnmaskingShares(
                client: -1, selfMaskShares: try shamir(r.selfMaskShares), maskingKeyShares: try shamir(r.maskingKeyShares))
        }
        return reply
    }
}
