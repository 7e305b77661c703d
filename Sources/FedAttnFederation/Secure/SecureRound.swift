import FedAttnCore
import FedAttnSecAgg

/// The coordinator's side of one secure round: it checks each client's answers as they
/// arrive, relays keys and encrypted shares, keeps the masked inputs until the phase closes,
/// and unmasks the two sums (the rows' counts, then the weighted values over their union).
/// It never holds an individual update in the clear, and is dropped once the round's step
/// is taken: nothing of it is stored or logged.
struct SecureRound: Sendable {
    let plan: SecureRoundPlan
    let codec: SecureUpdateCodec
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
    private(set) var union: [Int32] = []

    /// Bytes of one encrypted share: ChaChaPoly's nonce and tag around two shares of five field elements.
    static let shareCiphertextBytes = 12 + 2 * ShamirSharing.chunks * 8 + 16

    init(plan: SecureRoundPlan, layout: ParameterLayout, settings: SecureAggregationSettings) {
        self.plan = plan
        codec = SecureUpdateCodec(layout: layout, quantizer: settings.quantizer)
        names = Dictionary(uniqueKeysWithValues: plan.ids.map { ($1, $0) })
        let indicators = RowIndicators(rows: layout.tensors[0].shape[0], bits: RowIndicators.bits(forClients: plan.ids.count))
        let valueBits = settings.quantizer.ringBits(clients: plan.ids.count)
        servers = [0, 1].map { sum in
            SecAggServer(
                round: plan.session(sum: sum), threshold: plan.threshold, graph: plan.graph, length: sum == 0 ? indicators.length : 0,
                modulusBits: sum == 0 ? 32 : valueBits)
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

    /// Refuses an answer whose content does not fit the round: keys not its own or not 32
    /// bytes, shares to strangers or of the wrong size, a vector of the wrong length,
    /// unmasking shares of the wrong kind or outside the field. The message names the client.
    func check(_ reply: SecureReply, from client: String) throws(CoordinatorError) {
        guard let id = plan.ids[client] else { throw .staleUpdate("'\(client)' is not in round \(plan.round)'s secure sum") }
        let neighbours = Set(plan.graph.neighbours[id] ?? [])
        func refuse(_ why: String) -> CoordinatorError {
            .invalidRequest("round \(plan.round) \(reply.phase) from '\(client)': \(why)")
        }
        switch reply.phase {
        case .advertise:
            guard reply.keys.count == 2, reply.keys.allSatisfy({ $0.client == id && $0.encryptionKey.count == 32 && $0.maskingKey.count == 32 })
            else { throw refuse("two pairs of 32-byte X25519 keys of client \(id) expected") }
        case .shareKeys:
            guard reply.shares.count == 2 else { throw refuse("shares for both sums expected") }
            for (sum, list) in reply.shares.enumerated() {
                let advertised = Set((peerKeys[sum][id] ?? []).map(\.client))
                guard Set(list.map(\.to)).count == list.count,
                    list.allSatisfy({ $0.from == id && advertised.contains($0.to) && $0.ciphertext.count == Self.shareCiphertextBytes })
                else { throw refuse("a share not from it, to no neighbour that advertised, repeated, or not \(Self.shareCiphertextBytes) bytes") }
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

    /// Keeps a checked answer for its phase; a masked vector goes into its sum's running
    /// total at once (no individual one is kept).
    mutating func fold(_ reply: SecureReply, from client: String) throws(SecAggError) {
        guard let id = plan.ids[client] else { return }
        switch reply.phase {
        case .advertise: for sum in 0..<2 { keys[sum].append(reply.keys[sum]) }
        case .shareKeys: for sum in 0..<2 { shares[sum][id] = reply.shares[sum] }
        case .maskIndicators, .maskValues: try servers[reply.phase.sum].addMasked(MaskedInput(client: id, values: reply.masked))
        case .unmaskIndicators, .unmaskValues: if let u = reply.unmasking { unmasking.append(u) }
        }
    }

    // MARK: Phases

    /// Takes the step of phase `closed` over the answers kept: relays keys or shares, takes
    /// the masked inputs, or unmasks the indicators into the union. The values are unmasked
    /// by `step()`.
    mutating func close(_ closed: SecurePhase) throws(SecAggError) {
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
            union = codec.union(fromIndicatorSum: total, clients: plan.ids.count).rows
            servers[1].length = codec.valuesLength(unionCount: union.count)
            // The indicators' sum tells the union; rows of clients that drop later stay in it (as zeros).
            _ = counted
        case .unmaskValues: break
        }
    }

    /// The round's mean step from the values' sum: what the strategy adds, as one update of
    /// the summed clients' weight.
    mutating func step() throws(SecAggError) -> SparseWeights {
        let (total, counted) = try servers[1].unmask(unmasking)
        unmasking = []
        let weight = counted.reduce(Float(0)) { $0 + (names[$1].flatMap { plan.weights[$0] } ?? 0) }
        // Weights were over the selected clients: those summed count for the whole.
        return codec.mean(total, union: union, counts: nil, clients: counted.count, denseScale: weight > 0 ? 1 / weight : 1)
    }

    /// What `task` carries for `client`.
    func fill(_ task: SecureTask, for client: String) -> SecureTask {
        guard let id = plan.ids[client] else { return task }
        var filled = task
        switch task.phase {
        case .advertise: break
        case .shareKeys: filled.peerKeys = (0..<2).map { peerKeys[$0][id] ?? [] }
        case .maskIndicators: filled.shares = (0..<2).map { inbox[$0][id] ?? [] }
        case .unmaskIndicators: filled.survivors = survivors[0].sorted()
        case .maskValues: filled.union = union
        case .unmaskValues: filled.survivors = survivors[1].sorted()
        }
        return filled
    }
}
