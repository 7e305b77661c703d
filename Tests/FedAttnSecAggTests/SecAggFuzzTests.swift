import FedAttnSecAgg
import Foundation
import Testing
import _FedAttnTestSupport

/// A seeded fuzzer for what secure aggregation reads from a peer (`make fuzz-asan` runs it
/// longer, under AddressSanitizer): masked vectors of any declared count and width, Shamir
/// shares forged in their points, values and numbers, and row bitmaps of any declared size.
/// Each is read or refused with a `SecAggError` (or nil), never a trap.
struct SecAggFuzzTests {
    /// Counts and widths at the edges: negative, zero, and large enough to overflow a product.
    static let edges = [0, 1, -1, Int.min, Int.max, Int.max / 8, Int.max / 32 + 1, 1 << 32, Int(UInt32.max), 1 << 62, 33, 64]

    @Test func maskedVectorsOfAnyDeclaredShapeUnpackOrAreRefused() {
        var mutator = FuzzMutator(seed: 20_261_207)
        let iterations = FuzzMutator.iterations(standard: 10_000)
        var (unpacked, refused) = (0, 0)
        for _ in 0..<iterations {
            let bits = mutator.below(4) == 0 ? Self.edges[mutator.below(Self.edges.count)] : 1 + mutator.below(32)
            let count = mutator.below(4) == 0 ? Self.edges[mutator.below(Self.edges.count)] : mutator.below(200)
            // Mostly the bytes the shape takes (when it is one), then mutated; else any bytes.
            var size = mutator.below(300)
            if (1...32).contains(bits), (0..<200).contains(count), mutator.below(3) > 0 { size = RingPacking.byteCount(count: count, bits: bits) }
            var data = [UInt8]((0..<size).map { _ in UInt8(truncatingIfNeeded: mutator.next()) })
            if mutator.below(4) == 0 { data = mutator.mutate(data) }
            do throws(SecAggError) {
                let values = try RingPacking.unpack(Data(data), count: count, bits: bits)
                #expect(values.count == count && (bits == 32 || values.allSatisfy { $0 >> UInt32(bits) == 0 }))
                let again = try RingPacking.unpack(RingPacking.pack(values, bits: bits), count: count, bits: bits)
                #expect(again == values)
                unpacked += 1
            } catch {
                refused += 1
            }
        }
        #expect(unpacked + refused == iterations && unpacked > 0 && refused > 0)
        print("ring packing fuzz: \(iterations) declared shapes, \(unpacked) unpacked, \(refused) refused, no crash")
    }

    @Test func forgedSharesCombineOrAreRefused() {
        let secret = (0..<ShamirSharing.secretBytes).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let shares = ShamirSharing.split(secret, threshold: 3, holders: [1, 2, 3, 4, 5])
        let points: [UInt64] = [0, 1, ShamirSharing.prime - 1, ShamirSharing.prime, ShamirSharing.prime + 1, .max]
        var mutator = FuzzMutator(seed: 20_261_208)
        let iterations = FuzzMutator.iterations(standard: 2_000, cost: 4)
        var (combined, refused) = (0, 0)
        for _ in 0..<iterations {
            var picked = Array(shares.shuffled(using: &mutator).prefix(1 + mutator.below(shares.count)))
            for _ in 0..<mutator.below(4) {
                let k = mutator.below(picked.count)
                var x = picked[k].x, values = picked[k].values
                switch mutator.below(6) {
                case 0: x = points[mutator.below(points.count)]
                case 1: if !values.isEmpty { values[mutator.below(values.count)] = points[mutator.below(points.count)] }
                case 2: values.removeLast(min(values.count, 1 + mutator.below(ShamirSharing.chunks)))
                case 3: values.append(mutator.next())
                case 4: if !values.isEmpty { values[mutator.below(values.count)] ^= 1 << UInt64(mutator.below(61)) }
                default: picked.append(picked[k])
                }
                picked[k] = ShamirSharing.Share(x: x, values: values)
            }
            do throws(SecAggError) {
                let recovered = try ShamirSharing.combine(picked)
                #expect(recovered.count == ShamirSharing.secretBytes)
                combined += 1
            } catch {
                refused += 1
            }
        }
        #expect(combined + refused == iterations && combined > 0 && refused > 0)
        print("shamir fuzz: \(iterations) share sets, \(combined) combined, \(refused) refused, no crash")
    }

    @Test func rowBitmapsOfAnyDeclaredSizeAreReadOrRefused() {
        var mutator = FuzzMutator(seed: 20_261_209)
        let iterations = FuzzMutator.iterations(standard: 5_000)
        var read = 0
        for _ in 0..<iterations {
            let rows = mutator.below(3) == 0 ? Self.edges[mutator.below(Self.edges.count)] : mutator.below(100)
            let size = rows >= 0 && rows < 100 && mutator.below(2) == 0 ? (rows + 7) / 8 : mutator.below(20)
            let bitmap = Data((0..<size).map { _ in UInt8(truncatingIfNeeded: mutator.next()) })
            guard let set = RowSet(rows: rows, bitmap: bitmap) else { continue }
            #expect(set.sorted.allSatisfy { $0 >= 0 && Int($0) < rows } && set.count == set.sorted.count)
            read += 1
        }
        #expect(read > 0)
    }
}
