import FedAttnCore
public import Foundation

/// Seeded mutations of valid inputs, for the fuzz tests of every parser of outside bytes (the
/// suites named `...FuzzTests`, which `make fuzz-asan` runs longer under AddressSanitizer).
/// Each input gets one to four edits: a bit flipped, a byte inserted, deleted or set to an
/// edge value, the end cut off, a run repeated, a token of the format spliced in, or a length
/// field (one the caller names, else 1, 2, 4 or 8 bytes anywhere) set to an edge value, to the
/// input's own length, or moved a little. The same seed makes the same inputs on every machine.
public struct FuzzMutator: RandomNumberGenerator, Sendable {
    /// A little-endian unsigned field of `width` bytes at `offset`: a declared length or count.
    public struct Field: Sendable {
        public let offset: Int
        public let width: Int

        public init(offset: Int, width: Int) {
            self.offset = offset
            self.width = width
        }
    }

    private var generator: SeededGenerator
    private let tokens: [[UInt8]]
    private let fields: [Field]

    /// `tokens` (text, as UTF-8) and `binaryTokens` are spliced in whole; `fields` are the
    /// format's own length fields.
    public init(seed: UInt64, tokens: [String] = [], binaryTokens: [[UInt8]] = [], fields: [Field] = []) {
        generator = SeededGenerator(seed: seed)
        self.tokens = tokens.map { Array($0.utf8) } + binaryTokens
        self.fields = fields
    }

    /// How many inputs a fuzz test tries: `standard` in the suite's own run (`make test` stays
    /// fast), or `FEDATTN_FUZZ_ITERATIONS` divided by `cost` when that is set (`make
    /// fuzz-asan`), for a target whose input costs about `cost` times one of the update
    /// decoder's (a file written, a certificate parsed); never fewer than `standard`.
    public static func iterations(standard: Int, cost: Int = 1) -> Int {
        guard let asked = ProcessInfo.processInfo.environment["FEDATTN_FUZZ_ITERATIONS"].flatMap({ Int($0) }) else { return standard }
        return max(standard, asked / max(cost, 1))
    }

    /// Values that most often break a parser: 0, 1, and the edges of each width, signed and not.
    public static let edgeValues: [UInt64] = [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max - 1, .max,
    ]

    public mutating func next() -> UInt64 { generator.next() }

    /// A draw in 0..<`bound`; 0 when `bound` is 0 or less.
    public mutating func below(_ bound: Int) -> Int {
        bound <= 0 ? 0 : Int(generator.next() % UInt64(bound))
    }

    /// `input` with one to four edits.
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) { edit(&bytes) }
        return bytes
    }

    /// `input` with one to four edits.
    public mutating func mutate(_ input: Data) -> Data { Data(mutate([UInt8](input))) }

    private mutating func edit(_ bytes: inout [UInt8]) {
        let at = below(bytes.count)
        switch below(9) {
        case 0:
            if !bytes.isEmpty { bytes[at] ^= UInt8(truncatingIfNeeded: 1 << below(8)) }
        case 1:
            bytes.insert(UInt8(truncatingIfNeeded: next()), at: at)
        case 2:
            if !bytes.isEmpty { bytes.remove(at: at) }
        case 3:
            bytes.removeLast(min(bytes.count, below(17)))
        case 4:
            bytes = Array(bytes.prefix(below(bytes.count + 1)))
        case 5:
            if !bytes.isEmpty { bytes[at] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF][below(6)] }
        case 6:
            // A run given twice (a field, a record, a frame).
            let run = Array(bytes[at..<min(bytes.count, at + 1 + below(32))])
            bytes.insert(contentsOf: run, at: at)
        case 7:
            if tokens.isEmpty {
                if !bytes.isEmpty { bytes[at] = UInt8(truncatingIfNeeded: next()) }
            } else {
                bytes.insert(contentsOf: tokens[below(tokens.count)], at: at)
            }
        default:
            setField(&bytes)
        }
    }

    /// Sets a length field: one of `fields` (three times in four when there are some), else
    /// 1, 2, 4 or 8 bytes anywhere.
    private mutating func setField(_ bytes: inout [UInt8]) {
        let field =
            fields.isEmpty || below(4) == 0 ? Field(offset: below(bytes.count), width: [1, 2, 4, 8][below(4)]) : fields[below(fields.count)]
        guard field.offset >= 0, field.width >= 1, field.width <= 8, field.offset + field.width <= bytes.count else { return }
        var old: UInt64 = 0
        for k in 0..<field.width { old |= UInt64(bytes[field.offset + k]) << UInt64(8 * k) }
        let value: UInt64
        switch below(4) {
        case 0: value = Self.edgeValues[below(Self.edgeValues.count)]
        case 1: value = UInt64(bytes.count) &+ UInt64(below(3)) &- 1
        case 2: value = old &+ UInt64(below(17)) &- 8
        default: value = next()
        }
        for k in 0..<field.width { bytes[field.offset + k] = UInt8(truncatingIfNeeded: value >> UInt64(8 * k)) }
    }
}
