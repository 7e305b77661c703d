import FedAttnCore
import FedAttnSecAgg
import Foundation
import Testing

/// Masked vectors travel in the smallest ring that holds the round's sum, packed to its bits.
struct RingPackingTests {
    @Test(arguments: [1, 7, 8, 20, 22, 27, 31, 32])
    func packedVectorsComeBackExactly(bits: Int) throws {
        var generator = SeededGenerator(seed: UInt64(bits))
        let top = bits == 32 ? UInt32.max : (UInt32(1) << UInt32(bits)) - 1
        for count in [0, 1, 3, 1_000] {
            let values = (0..<count).map { _ in UInt32.random(in: 0...top, using: &generator) }
            let packed = RingPacking.pack(values, bits: bits)
            #expect(packed.count == (count * bits + 7) / 8)
            #expect(try RingPacking.unpack(packed, count: count, bits: bits) == values)
        }
    }

    @Test func aPackedVectorOfTheWrongSizeIsRefused() {
        let packed = RingPacking.pack([1, 2, 3], bits: 20)
        #expect(throws: SecAggError.self) { try RingPacking.unpack(packed, count: 4, bits: 20) }
        #expect(throws: SecAggError.self) { try RingPacking.unpack(packed + Data([0]), count: 3, bits: 20) }
        #expect(throws: SecAggError.self) { try RingPacking.unpack(packed, count: 3, bits: 33) }
    }

    /// Inputs masked and reduced mod 2^24 (20-bit values, 10 clients): the unmasked sum is the
    /// plain sum exactly, also with 3 clients dropping after masking.
    @Test func sumsInTheSmallerRingAreExact() throws {
        let quantizer = RingQuantizer(clip: 1, bits: 20)
        #expect(quantizer.ringBits(clients: 10) == 24)
        #expect(quantizer.ringBits(clients: 100) == 27)
        #expect(quantizer.ringBits(clients: 1) == 20)
        let inputs = SecAggTests.inputs(10, 400, seed: 9)
        let all = try SecAggTests.round(n: 10, k: 8, t: 5, length: 400, inputs: inputs, modulusBits: 24)
        #expect(all.masked.allSatisfy { $0.values.allSatisfy { $0 < 1 << 24 } })
        #expect(all.sum == SecAggTests.plainSum(inputs, of: Array(0..<10)))
        let dropped = try SecAggTests.round(n: 10, k: 8, t: 5, length: 400, inputs: inputs, dropBeforeUnmask: [2, 5, 8], modulusBits: 24)
        #expect(dropped.sum == SecAggTests.plainSum(inputs, of: Array(0..<10)))
    }

    /// The server keeps only the running sum: a second input from one client, one outside the
    /// ring, or one of another length is refused.
    @Test func theServerRefusesInputsThatDoNotFit() throws {
        let graph = NeighbourGraph(clients: [0, 1, 2], k: 2, seed: 1)
        let clients = (0..<3).map { SecAggClient(id: $0, round: 3, threshold: 2, neighbours: graph.neighbours[$0]!) }
        var server = SecAggServer(round: 3, threshold: 2, graph: graph, length: 4, modulusBits: 24)
        let keys = try server.collectKeys(clients.map { $0.advertise() })
        let inbox = try server.collectShares(Dictionary(uniqueKeysWithValues: try (0..<3).map { ($0, try clients[$0].shareKeys(keys[$0]!)) }))
        let input = try clients[0].maskInput([1, 2, 3, 4], shares: inbox[0]!, modulusBits: 24)
        try server.addMasked(input)
        #expect(throws: SecAggError.self) { try server.addMasked(input) }
        #expect(throws: SecAggError.self) { try server.addMasked(MaskedInput(client: 1, values: [1, 2, 1 << 24, 4])) }
        #expect(throws: SecAggError.self) { try server.addMasked(MaskedInput(client: 1, values: [1, 2, 3])) }
    }
}
