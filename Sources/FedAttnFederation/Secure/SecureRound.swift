import Crypto
import FedAttnCore
import FedAttnSecAgg
import Foundation

/// The coordinator's side of one secure round: it checks each client's answers as they
/// arrive, relays keys and encrypted shares, adds each masked vector to its sum's running
/// total on arrival, and unmasks the two sums (the rows new this round, with the silos' item
/// counts when the round carries them; then the weighted values over every row trained so
/// far). It never holds an individual update in the clear, and is dropped once the round's
/// step is taken: nothing of it is stored or logged.
struct SecureRound: Sendable {
    let plan: SecureRoundPlan
    let codec: SecureUpdateCodec
    /// Whether sum 0 also carries the silos' item counts and shared flags (`CountedIndicators`:
    /// 2V + 1 elements in the ring of 32 bits, instead of V in the ring of 16).
    let carriesCounts: Bool
    private var servers: [SecAggServer]
    private let names: [Int: String]
    // Answers of the phase under way.
    private var keys: [[AdvertisedKeys]] = [[], []]
    private var shares: [[Int: [EncryptedShare]]] = [[:], [:]]
    private var unmasking: [UnmaskingShares] = []
    // What the next phase's tasks carry.
    private var peerKeys: [[Int: [AdvertisedKeys]]] = [[:], [:]]
    private var inbox: [[Int: [EncryptedShare]]] = [[:], [:]]
    private var survivors: [Set<Int>] = [[], []]
    /// The rows some silo trained before this round: not announced again.
    let knownBefore: RowSet
    /// Those and this round's new ones, once the indicators are unmasked: the values' rows.
    private(set) var known: RowSet
    private var rows: [Int32] = []

    /// Bytes of one encrypted share: ChaChaPoly's nonce and tag around two shares of five field elements.
    static let shareCiphertextBytes = 12 + 2 * ShamirSharing.chunks * 8 + 16

    init(plan: SecureRoundPlan, layout: ParameterLayout, settings: SecureAggregationSettings, known: RowSet, carriesCounts: Bool = false) {
        self.plan = plan
        self.carriesCounts = carriesCounts
        codec = SecureUpdateCodec(layout: layout, quantizer: settings.quantizer)
        names = Dictionary(uniqueKeysWithValues: plan.ids.map { ($1, $0) })
        knownBefore = known
        self.known = known
        let valueBits = settings.quantizer.ringBits(clients: plan.ids.count)
        let tableRows = layout.tensors[0].shape[0]
        let indicators = carriesCounts ? (CountedIndicators(rows: tableRows).length, CountedIndicators.bits) : (tableRows, RowIndicators.bits)
        servers = [0, 1].map { sum in
            SecAggServer(
                round: plan.session(sum: sum), threshold: plan.threshold, graph: plan.graph, length: sum == 0 ? indicators.0 : 0,
                modulusBits: sum == 0 ? indicators.1 : valueBits)
        }
    }

    /// The masked vector phase `phase` takes: its length and its elements' bits (nil for a
    /// phase without one).
    func expectedMasked(_ phase: SecurePhase) -> (count: Int, bits: Int)? {
        guard phase == .maskIndicators || phase == .maskValues else { return nil }
        let server = servers[phase.sum]
        return (server.length, server.modulusBits)
    }

    // MARK: Answers

    /// Refuses an answer whose content does not fit the round: keys not its own, not 32 bytes,
    /// of small order, or the same for both sums; shares not exactly one for each neighbour
    /// that advertised, or of the wrong size; a vector of the wrong length or outside the ring;
    /// unmasking shares of the wrong kind, point or size. The message names the client.
    func check(_ reply: SecureReply, from client: String) throws(CoordinatorError) {
        guard let id = plan.ids[client] else { throw .staleUpdate("'\(client)' is not in round \(plan.round)'s secure sum") }
        guard reply.abort == nil else { return }  // nothing else of it is read
        let neighbours = Set(plan.graph.neighbours[id] ?? [])
        func refuse(_ why: String) -> CoordinatorError {
            .invalidRequest("round \(plan.round) \(reply.phase) from '\(client)': \(why)")
        }
        switch reply.phase {
        case .advertise:
            guard reply.keys.count == 2, reply.keys.allSatisfy({ $0.client == id && $0.encryptionKey.count == 32 && $0.maskingKey.count == 32 })
            else { throw refuse("two pairs of 32-byte X25519 keys of client \(id) expected") }
            let all = reply.keys.flatMap { [$0.encryptionKey, $0.maskingKey] }
            guard Set(all).count == 4 else { throw refuse("a key used twice: each sum has its own two keys") }
            guard all.allSatisfy(Self.isUsableKey) else { throw refuse("an X25519 key of small order (every secret agreed with it is zero)") }
        case .shareKeys:
            guard reply.shares.count == 2 else { throw refuse("shares for both sums expected") }
            for (sum, list) in reply.shares.enumerated() {
                let advertised = Set((peerKeys[sum][id] ?? []).map(\.client))
                guard list.count == advertised.count, Set(list.map(\.to)) == advertised,
                    list.allSatisfy({ $0.from == id && $0.ciphertext.count == Self.shareCiphertextBytes })
                else {
                    throw refuse(
                        "sum \(sum): one share of \(Self.shareCiphertextBytes) bytes for each of its \(advertised.count) neighbours that advertised expected"
                    )
                }
            }
        case .maskIndicators, .maskValues:
            let server = servers[reply.phase.sum]
            guard reply.masked.count == server.length, reply.maskedBits == server.modulusBits else {
                throw refuse("\(reply.masked.count) ring elements of \(reply.maskedBits) bits, not \(server.length) of \(server.modulusBits)")
            }
            let mask = server.modulusMask
            guard reply.masked.allSatisfy({ $0 <= mask }) else { throw refuse("an element outside the ring of \(server.modulusBits) bits") }
        case .unmaskIndicators, .unmaskValues:
            let sum = reply.phase.sum
            guard let u = reply.unmasking, u.client == id else { throw refuse("its unmasking shares expected") }
            let alive = survivors[sum]
            guard Set(u.selfMaskShares.keys).isSubset(of: alive.intersection(neighbours)),
                Set(u.maskingKeyShares.keys).isSubset(of: neighbours.subtracting(alive))
            else { throw refuse("a self-mask share of a client not in the sum, or a masking-key share of one in it") }
            let point = SecAggKeys.point(id)
            for share in Array(u.selfMaskShares.values) + Array(u.maskingKeyShares.values) {
                guard share.x == point, share.values.count == ShamirSharing.chunks, share.values.allSatisfy({ $0 < ShamirSharing.prime }) else {
                    throw refuse("a share not at its own point, or not \(ShamirSharing.chunks) field elements")
                }
            }
        }
    }

    /// Whether `raw` is an X25519 public key a secret can be agreed with: a small-order point
    /// gives the all-zero secret whatever the (clamped) private key, so one agreement with a
    /// fresh key tells.
    static func isUsableKey(_ raw: Data) -> Bool {
        guard let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: raw),
            let secret = try? Curve25519.KeyAgreement.PrivateKey().sharedSecretFromKeyAgreement(with: key)
        else { return false }
        return secret.withUnsafeBytes { $0.contains { $0 != 0 } }
    }

    /// Keeps a checked answer for its phase; a masked vector goes into its sum's running
    /// total at once (no individual one is kept).
    mutating func fold(_ reply: SecureReply, from client: String) throws(SecAggError) {
        guard let id = plan.ids[client], reply.abort == nil else { return }
        switch reply.phase {
        case .advertise: for sum in 0..<2 { keys[sum].append(reply.keys[sum]) }
        case .shareKeys: for sum in 0..<2 { shares[sum][id] = reply.shares[sum] }
        case .maskIndicators, .maskValues: try servers[reply.phase.sum].addMasked(MaskedInput(client: id, values: reply.masked))
        case .unmaskIndicators, .unmaskValues: if let u = reply.unmasking { unmasking.append(u) }
        }
    }

    // MARK: Phases

    /// Takes the step of phase `closed` over the answers kept: relays keys or shares, closes a
    /// masked sum, or unmasks the indicators into the rows the values run over (and, when the
    /// round carries them, the silos' summed item counts, returned). The values are unmasked by
    /// `step()`.
    @discardableResult
    mutating func close(_ closed: SecurePhase) throws(SecAggError) -> SummedCounts? {
        switch closed {
        case .advertise:
            for sum in 0..<2 { peerKeys[sum] = try servers[sum].collectKeys(keys[sum]) }
            keys = [[], []]
        case .shareKeys:
            for sum in 0..<2 { inbox[sum] = try servers[sum].collectShares(shares[sum]) }
            shares = [[:], [:]]
        case .maskIndicators, .maskValues: survivors[closed.sum] = try servers[closed.sum].closeMasked()
        case .unmaskIndicators:
            let (total, counted) = try servers[0].unmask(unmasking)
            unmasking = []
            var summed: SummedCounts?
            if carriesCounts {
                let parts = CountedIndicators(rows: codec.tableRows).split(total)
                // Summed mod 2^32: a new row's marks cannot cancel.
                known.insert(contentsOf: codec.newRows(fromIndicatorSum: parts.indicators, bits: CountedIndicators.bits))
                let silos = counted.compactMap { names[$0] }.sorted()
                summed = SummedCounts(
                    counts: parts.counts, shared: parts.shared, summedOver: silos, declared: silos.reduce(0) { $0 + (plan.examples[$1] ?? 0) })
            } else {
                known.insert(contentsOf: codec.newRows(fromIndicatorSum: total))
            }
            rows = known.sorted
            servers[1].length = codec.valuesLength(rows: rows.count)
            return summed
        case .unmaskValues: break
        }
        return nil
    }

    /// The round's mean step from the values' sum: what the strategy adds, as one update of
    /// the summed clients' weight.
    mutating func step() throws(SecAggError) -> SparseWeights {
        let (total, counted) = try servers[1].unmask(unmasking)
        unmasking = []
        // Coefficients were over the selected clients: rebuilt over those summed.
        return codec.mean(total, rows: rows, clients: counted.count, scale: plan.rescale(counted: counted.compactMap { names[$0] }))
    }

    /// What `task` carries for `client`.
    func fill(_ task: SecureTask, for client: String) -> SecureTask {
        guard let id = plan.ids[client] else { return task }
        var filled = task
        switch task.phase {
        case .advertise: break
        case .shareKeys: filled.peerKeys = (0..<2).map { peerKeys[$0][id] ?? [] }
        case .maskIndicators:
            filled.shares = (0..<2).map { inbox[$0][id] ?? [] }
            filled.rows = knownBefore
            filled.carriesPopularityCounts = carriesCounts
        case .unmaskIndicators: filled.survivors = survivors[0].sorted()
        case .maskValues: filled.rows = known
        case .unmaskValues: filled.survivors = survivors[1].sorted()
        }
        return filled
    }
}
