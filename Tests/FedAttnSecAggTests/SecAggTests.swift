import FedAttnCore
import FedAttnSecAgg
import Testing

/// SecAgg+ end to end in memory: the coordinator recovers exactly the sum of the surviving
/// clients' quantised updates, with clients dropping at every phase, and fails cleanly when
/// too few are left; what it holds of one client is indistinguishable from uniform bytes.
struct SecAggTests {
    /// A round of `n` clients with `k` neighbours and threshold `t` over vectors of `length`;
    /// `dropBeforeShares` advertise then vanish, `dropBeforeInput` share keys then vanish,
    /// `dropBeforeUnmask` send their masked input then vanish.
    static func round(
        n: Int, k: Int, t: Int, length: Int, inputs: [[UInt32]], dropBeforeShares: Set<Int> = [], dropBeforeInput: Set<Int> = [],
        dropBeforeUnmask: Set<Int> = [], modulusBits: Int = 32
    ) throws -> (sum: [UInt32], survivors: [Int], masked: [MaskedInput]) {
        let ids = Array(0..<n)
        let graph = NeighbourGraph(clients: ids, k: k, seed: 42)
        let clients = ids.map { SecAggClient(id: $0, round: 7, threshold: t, neighbours: graph.neighbours[$0]!) }
        var server = SecAggServer(round: 7, threshold: t, graph: graph, length: length, modulusBits: modulusBits)
        let keys = try server.collectKeys(clients.map { $0.advertise() })
        var alive = ids.filter { !dropBeforeShares.contains($0) }
        var outgoing: [Int: [EncryptedShare]] = [:]
        for id in alive {
            // Neighbours that dropped before sharing are still in the keys list: they advertised.
            outgoing[id] = try clients[id].shareKeys(keys[id] ?? [])
        }
        let inbox = try server.collectShares(outgoing)
        alive = alive.filter { !dropBeforeInput.contains($0) }
        var masked: [MaskedInput] = []
        for id in alive { masked.append(try clients[id].maskInput(inputs[id], shares: inbox[id] ?? [], modulusBits: modulusBits)) }
        let survivors = try server.collectMasked(masked)
        alive = alive.filter { !dropBeforeUnmask.contains($0) }
        let responses = try alive.map { try clients[$0].unmask(survivors: survivors) }
        let (sum, counted) = try server.unmask(responses)
        return (sum, counted, masked)
    }

    static func inputs(_ n: Int, _ length: Int, seed: UInt64) -> [[UInt32]] {
        var generator = SeededGenerator(seed: seed)
        return (0..<n).map { _ in (0..<length).map { _ in UInt32.random(in: 0..<(1 << 20), using: &generator) } }
    }

    static func plainSum(_ inputs: [[UInt32]], of clients: [Int]) -> [UInt32] {
        var sum = [UInt32](repeating: 0, count: inputs[0].count)
        for c in clients { for i in sum.indices { sum[i] &+= inputs[c][i] } }
        return sum
    }

    @Test func theCoordinatorRecoversExactlyTheSumOfTheQuantisedUpdates() throws {
        let inputs = Self.inputs(10, 500, seed: 1)
        let result = try Self.round(n: 10, k: 9, t: 6, length: 500, inputs: inputs)
        #expect(result.survivors == Array(0..<10))
        #expect(result.sum == Self.plainSum(inputs, of: Array(0..<10)))
    }

    /// 30% of 20 clients drop after sending their masked input: they are in the sum, and the
    /// survivors' shares rebuild their self masks. With a sparse graph (k = 8).
    @Test func withThirtyPercentDroppingAfterMaskingTheRoundCompletesWithTheirInputs() throws {
        let inputs = Self.inputs(20, 300, seed: 2)
        let dropped: Set<Int> = [1, 4, 7, 10, 13, 16]
        let result = try Self.round(n: 20, k: 8, t: 4, length: 300, inputs: inputs, dropBeforeUnmask: dropped)
        #expect(result.sum == Self.plainSum(inputs, of: Array(0..<20)))
    }

    /// Clients that drop before sending their input are not in the sum: their pairwise masks
    /// are rebuilt from their masking keys' shares and removed.
    @Test func clientsDroppingBeforeTheirInputAreLeftOutAndTheirMasksRemoved() throws {
        let inputs = Self.inputs(20, 300, seed: 3)
        let result = try Self.round(
            n: 20, k: 8, t: 4, length: 300, inputs: inputs, dropBeforeShares: [0], dropBeforeInput: [5, 11, 17], dropBeforeUnmask: [2])
        let counted = (0..<20).filter { ![0, 5, 11, 17].contains($0) }
        #expect(result.survivors == counted)
        #expect(result.sum == Self.plainSum(inputs, of: counted))
    }

    @Test func tooFewSurvivorsFailTheRoundCleanly() throws {
        let inputs = Self.inputs(10, 50, seed: 4)
        #expect(throws: SecAggError.self) {
            _ = try Self.round(n: 10, k: 9, t: 6, length: 50, inputs: inputs, dropBeforeUnmask: [0, 1, 2, 3, 4])
        }
        #expect(throws: SecAggError.self) {
            _ = try Self.round(n: 10, k: 9, t: 6, length: 50, inputs: inputs, dropBeforeInput: [0, 1, 2, 3, 4])
        }
    }

    /// A masked input of all zeros, 2^16 values: its bytes' counts against uniform, chi-square
    /// with 255 degrees of freedom (mean 255, sd 22.6; the bound is 5 sd up).
    @Test func maskedInputsAreIndistinguishableFromUniformBytes() throws {
        let length = 1 << 16
        let zeros = [[UInt32]](repeating: [UInt32](repeating: 0, count: length), count: 5)
        let masked = try Self.round(n: 5, k: 4, t: 3, length: length, inputs: zeros).masked
        for input in masked {
            var counts = [Int](repeating: 0, count: 256)
            for value in input.values {
                for shift in stride(from: 0, to: 32, by: 8) { counts[Int((value >> UInt32(shift)) & 0xFF)] += 1 }
            }
            let expected = Double(length * 4) / 256
            let chiSquare = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            #expect(chiSquare < 255 + 5 * 22.6, "client \(input.client): chi-square \(chiSquare)")
        }
    }

    @Test func aClientRevealsOneKindOfShareAPeerAndTheCoordinatorRefusesBoth() throws {
        let graph = NeighbourGraph(clients: [0, 1, 2, 3], k: 3, seed: 1)
        let clients = (0..<4).map { SecAggClient(id: $0, round: 1, threshold: 2, neighbours: graph.neighbours[$0]!) }
        var server = SecAggServer(round: 1, threshold: 2, graph: graph, length: 4)
        let keys = try server.collectKeys(clients.map { $0.advertise() })
        let inbox = try server.collectShares(Dictionary(uniqueKeysWithValues: try (0..<4).map { ($0, try clients[$0].shareKeys(keys[$0]!)) }))
        let masked = try (0..<3).map { try clients[$0].maskInput([1, 2, 3, 4], shares: inbox[$0]!) }  // 3 drops
        let survivors = try server.collectMasked(masked)
        let response = try clients[0].unmask(survivors: survivors)
        #expect(Set(response.selfMaskShares.keys) == [1, 2] && Set(response.maskingKeyShares.keys) == [3])
        // A forged response revealing client 1's masking-key share too is refused.
        let forged = UnmaskingShares(
            client: 0, selfMaskShares: response.selfMaskShares,
            maskingKeyShares: response.maskingKeyShares.merging([1: response.selfMaskShares[1]!]) { a, _ in a })
        #expect(throws: SecAggError.self) { _ = try server.unmask([forged]) }
        // A survivor set naming a client that never shared keys with it is refused by the client.
        let fresh = SecAggClient(id: 9, round: 1, threshold: 1, neighbours: [])
        #expect(throws: SecAggError.self) { _ = try fresh.unmask(survivors: [9]) }
    }

    @Test func shamirRecoversFromAnyThresholdOfSharesAndNotFromFewer() throws {
        var generator = SeededGenerator(seed: 5)
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let shares = ShamirSharing.split(secret, threshold: 3, holders: [1, 2, 3, 4, 5])
        for subset in [[0, 1, 2], [4, 2, 0], [1, 3, 4], [0, 1, 2, 3, 4]] {
            #expect(try ShamirSharing.combine(subset.map { shares[$0] }) == secret)
        }
        let fromTwo = try? ShamirSharing.combine([shares[0], shares[1]])
        #expect(fromTwo != secret, "two shares of a 3-of-5 sharing recover nothing")
    }

    @Test func quantisedSumsAreWithinTheStatedBoundOfTheFloatSum() {
        let quantizer = RingQuantizer(clip: 0.5, bits: 16)
        var generator = SeededGenerator(seed: 6)
        let clients = 50
        let values = (0..<clients).map { _ in (0..<1_000).map { _ in Float.random(in: -0.7...0.7, using: &generator) } }
        var ring = [UInt32](repeating: 0, count: 1_000)
        for v in values {
            let q = quantizer.quantize(v, using: &generator)
            for i in ring.indices { ring[i] &+= q[i] }
        }
        let back = quantizer.dequantizeSum(ring, clients: clients)
        let exact = (0..<1_000).map { i in values.reduce(Float(0)) { $0 + min(max($1[i], -0.5), 0.5) } }
        let worst = zip(back, exact).map { abs($0 - $1) }.max()!
        #expect(worst <= quantizer.errorBound(clients: clients), "worst \(worst), bound \(quantizer.errorBound(clients: clients))")
        #expect(quantizer.maxClients >= clients)
    }

    @Test func theGraphIsSymmetricWithKNeighboursEach() {
        let graph = NeighbourGraph(clients: Array(0..<100), k: 10, seed: 3)
        for (client, peers) in graph.neighbours {
            #expect(peers.count == 10 && !peers.contains(client))
            for peer in peers { #expect(graph.neighbours[peer]!.contains(client)) }
        }
    }
}

/// The first of the two secure sums a sparse update needs: which rows some silo touched,
/// through masks in the ring of 16 bits, never how many silos did.
struct RowIndicatorTests {
    @Test func theMaskedSumOfIndicatorsGivesTheRowsSomeSiloTouched() throws {
        let indicators = RowIndicators(rows: 1_000)
        var generator = SeededGenerator(seed: 8)
        let touched = (0..<12).map { _ in Set((0..<60).map { _ in Int32.random(in: 0..<1_000, using: &generator) }) }
        // In a fixed order: a Set's order changes from process to process, and with it which
        // row gets which mark (two marks summing to 0 mod 2^16 would lose a row, 1 in 65,535).
        let inputs = touched.map { indicators.encode($0.sorted(), using: &generator) }
        let result = try SecAggTests.round(n: 12, k: 6, t: 3, length: indicators.length, inputs: inputs, modulusBits: RowIndicators.bits)
        let union = touched.reduce(Set<Int32>()) { $0.union($1) }
        #expect(Set(indicators.touched(result.sum)) == union)
        // The sum is not the count of silos (as 0/1 indicators would give): random values hide it.
        let counts = union.map { row in (row, touched.filter { $0.contains(row) }.count) }
        #expect(counts.filter { result.sum[Int($0.0)] == UInt32($0.1) }.count <= 1)
    }

    @Test func aRowSetTravelsAsItsBitmap() {
        var set = RowSet(rows: 21)
        set.insert(contentsOf: [0, 5, 20])
        #expect(set.sorted == [0, 5, 20] && set.count == 3 && set.data.count == 3)
        #expect(RowSet(rows: 21, bitmap: set.data) == set)
        #expect(RowSet(rows: 21, bitmap: set.data + [0]) == nil)
        #expect(RowSet(rows: 20, bitmap: set.data) == nil, "a bit past the last row")
    }
}

/// Sparse updates through the two secure sums: the coordinator learns the rows new this round,
/// and the round's weighted mean from the values' sum matches the plain one within the
/// quantiser's bound.
struct SecureUpdateCodecTests {
    @Test func twoSecureSumsGiveTheWeightedMeanOfSparseUpdates() throws {
        let layout = ParameterLayout([TensorSpec(name: "item_embedding", shape: [200, 8]), TensorSpec(name: "w", shape: [16])])
        let codec = SecureUpdateCodec(layout: layout, quantizer: RingQuantizer(clip: 1, bits: 20))
        var generator = SeededGenerator(seed: 10)
        let n = 6
        let weights: [Float] = [0.1, 0.2, 0.3, 0.1, 0.2, 0.1]
        let updates = (0..<n).map { _ in
            let rows = Array(Set((0..<30).map { _ in Int32.random(in: 1..<200, using: &generator) })).sorted()
            return SparseWeights(
                layout: layout,
                tensors: [
                    .init(rows: rows, values: (0..<(rows.count * 8)).map { _ in Float.random(in: -0.5...0.5, using: &generator) }),
                    .init(rows: nil, values: (0..<16).map { _ in Float.random(in: -0.5...0.5, using: &generator) }),
                ])
        }
        // Rows 1...50 were trained in earlier rounds: only the others are announced.
        var known = RowSet(rows: 200)
        known.insert(contentsOf: (1...50).map { Int32($0) })
        let indicators = updates.map { codec.indicators($0, known: known, using: &generator) }
        let first = try SecAggTests.round(n: n, k: 4, t: 3, length: indicators[0].count, inputs: indicators, modulusBits: RowIndicators.bits)
        let fresh = codec.newRows(fromIndicatorSum: first.sum)
        #expect(Set(fresh) == Set(updates.flatMap { $0.tensors[0].rows! }).filter { !known.contains($0) })
        known.insert(contentsOf: fresh)
        let rows = known.sorted
        let bits = codec.quantizer.ringBits(clients: n)
        let values = zip(updates, weights).map { codec.values($0, rows: rows, weight: $1, using: &generator) }
        let second = try SecAggTests.round(n: n, k: 4, t: 3, length: values[0].count, inputs: values, modulusBits: bits)
        let mean = codec.mean(second.sum, rows: rows, clients: n)
        let bound = codec.quantizer.errorBound(clients: n)
        #expect(mean.tensors[0].rows == rows)
        for (at, row) in rows.enumerated() {
            for j in 0..<8 {
                let plain = zip(updates, weights).map { u, w in
                    u.tensors[0].rows!.firstIndex(of: row).map { w * u.tensors[0].values[$0 * 8 + j] } ?? 0
                }.reduce(0, +)
                #expect(abs(mean.tensors[0].values[at * 8 + j] - plain) <= bound + 1e-5, "row \(row)")
            }
        }
        for j in 0..<16 {
            let plain = zip(updates, weights).map { $1 * $0.tensors[1].values[j] }.reduce(0, +)
            #expect(abs(mean.tensors[1].values[j] - plain) <= bound + 1e-5)
        }
    }
}

/// Sum 0 when it carries the silos' item counts (protocol 11): each vector is the row marks,
/// the silo's counts per item row and its shared flag, summed in the ring of 32 bits; the
/// unmasked sum splits into the rows new this round, the counts summed over the silos, and
/// how many of them shared, and a row's marks no longer cancel.
struct CountedIndicatorTests {
    @Test func aVectorIsTheMarksThenTheCountsThenTheSharedFlag() {
        let layout = CountedIndicators(rows: 5)
        #expect(layout.length == 11 && CountedIndicators.bits == 32)
        let marks: [UInt32] = [0, 7, 0, 65_535, 0]
        let sharing = layout.encode(indicators: marks, counts: [0, 3, 0, 1, 4_000_000_000])
        #expect(sharing == [0, 7 << 16, 0, 65_535 << 16, 0, 0, 3, 0, 1, 4_000_000_000, 1])
        // Declining: zeros and a flag of 0, the same length, so the length tells nothing.
        let declining = layout.encode(indicators: marks, counts: nil)
        #expect(declining == [0, 7 << 16, 0, 65_535 << 16, 0, 0, 0, 0, 0, 0, 0])
        let parts = layout.split(zip(sharing, declining).map { $0 &+ $1 })
        #expect(parts.indicators == [0, 14 << 16, 0, 65_534 << 16, 0])  // 131,070 mod 2^16
        #expect(parts.counts == [0, 3, 0, 1, 4_000_000_000] && parts.shared == 1)
    }

    @Test func theMaskedSumGivesTheNewRowsTheSummedCountsAndTheSharers() throws {
        let rows = 300
        let layout = CountedIndicators(rows: rows)
        let indicators = RowIndicators(rows: rows)
        var generator = SeededGenerator(seed: 21)
        let n = 8
        let touched = (0..<n).map { _ in Set((0..<40).map { _ in Int32.random(in: 1..<Int32(rows), using: &generator) }) }
        // Silos 2 and 5 decline: their counts are not in the sum, and the sum says 6 shared.
        let counts: [[UInt32]?] = (0..<n).map { silo in
            silo == 2 || silo == 5 ? nil : (0..<rows).map { $0 == 0 ? 0 : UInt32.random(in: 0..<100_000, using: &generator) }
        }
        let inputs = (0..<n).map { layout.encode(indicators: indicators.encode(touched[$0].sorted(), using: &generator), counts: counts[$0]) }
        let result = try SecAggTests.round(n: n, k: 6, t: 4, length: layout.length, inputs: inputs, modulusBits: CountedIndicators.bits)
        #expect(result.masked.allSatisfy { $0.values.count == 2 * rows + 1 })
        let parts = layout.split(result.sum)
        #expect(Set(indicators.touched(parts.indicators, bits: CountedIndicators.bits)) == touched.reduce(Set<Int32>()) { $0.union($1) })
        #expect(parts.shared == 6)
        let expected = (0..<rows).map { row in counts.compactMap { $0?[row] }.reduce(0, +) }
        #expect(parts.counts == expected && parts.counts[0] == 0)
    }

    /// The marks travel in the ring's top 16 bits: however many silos mark a row, the sum is
    /// the ring of 16 bits' sum, shifted, so it bounds nothing about how many marked it (in the
    /// low bits it would not wrap: two marks would often read above 65,535, one never).
    @Test func theMarksSumAsInTheRingOf16Bits() {
        let layout = CountedIndicators(rows: 3), indicators = RowIndicators(rows: 3)
        var generator = SeededGenerator(seed: 5)
        for silos in [1, 2, 3, 50] {
            let marks = (0..<silos).map { _ in indicators.encode([Int32(1), 2], using: &generator) }
            var sum = [UInt32](repeating: 0, count: layout.length)
            for vector in marks.map({ layout.encode(indicators: $0, counts: nil) }) {
                for i in sum.indices { sum[i] &+= vector[i] }
            }
            let sixteen = (0..<3).map { row in marks.reduce(UInt32(0)) { ($0 &+ $1[row]) & 0xFFFF } }
            let parts = layout.split(sum)
            #expect(parts.indicators == sixteen.map { $0 << 16 }, "\(silos) silos")
            #expect(indicators.touched(parts.indicators, bits: CountedIndicators.bits) == indicators.touched(sixteen))
            #expect(parts.indicators.allSatisfy { $0 & 0xFFFF == 0 } && parts.shared == 0)
        }
    }
}
