import FedAttnCore
import FedAttnModel
import FedAttnSafetensors
import Foundation
import Testing
import _FedAttnTestSupport

/// A seeded mutation fuzzer for model files (`make fuzz-asan` runs it longer, under
/// AddressSanitizer): the header reader, the weights it lays out and `ModelFile.load` each
/// return a value or throw `SafetensorsError` for every input, never trap, and never lay out
/// more values than the file holds.
struct SafetensorsFuzzTests {
    /// A tiny model's own file, and a file built by hand from the specification (another
    /// tensor order, another tool's metadata).
    static func seeds() throws -> [Data] {
        let model = try Fixtures.tinyModel()
        let own = try Safetensors.encode(model.parameters, metadata: model.config.metadata)
        let header =
            #"{"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        return [own, file(header: header, dataBytes: 12)]
    }

    /// An 8-byte header length, `header`, then `dataBytes` zero bytes.
    static func file(header: String, dataBytes: Int) -> Data {
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(Data(count: dataBytes))
        return bytes
    }

    /// Pieces of JSON and of the header's vocabulary, numbers at the edges of Int and Double,
    /// two spellings of one name, and a nesting deeper than any parser should follow.
    static let tokens = [
        "\"", "{", "}", "[", "]", ",", ":", "-1", "0", "-0", "1.5", "1e308", "-1e308", "18446744073709551616", "9223372036854775807",
        "9223372036854775808", "\"F32\"", "\"F16\"", "null", "true", "\"__metadata__\"", "\"data_offsets\"", "\"shape\"", "\"dtype\"",
        "\\u0000", "\\ud800", "\u{E9}", "e\u{301}", String(repeating: "[", count: 600), String(repeating: "{\"a\":", count: 600),
    ]

    @Test func mutatedFilesReadOrAreRefused() throws {
        let seeds = try Self.seeds()
        var mutator = FuzzMutator(seed: 20_261_201, tokens: Self.tokens, fields: [FuzzMutator.Field(offset: 0, width: 8)])
        let iterations = FuzzMutator.iterations(standard: 2_000, cost: 10)
        var (read, refused, models) = (0, 0, 0)
        for i in 0..<iterations {
            let data = mutator.mutate(seeds[i % seeds.count])
            do {
                let header = try Safetensors.readHeader(data, source: "fuzz")
                #expect(header.layout.count * 4 <= data.count, "input \(i): \(header.layout.count) values from a \(data.count)-byte file")
                #expect(Safetensors.weights(data, header: header).values.count == header.layout.count)
                read += 1
            } catch is SafetensorsError {
                refused += 1
            } catch {
                Issue.record("input \(i): the header reader threw \(error), not a SafetensorsError")
            }
            do {
                let model = try ModelFile.load(data, source: "fuzz")
                #expect(model.parameters.layout == AttentionModel.layout(for: model.config))
                models += 1
            } catch is SafetensorsError {
                // Refused, naming the file: what any input may get.
            } catch {
                Issue.record("input \(i): ModelFile.load threw \(error), not a SafetensorsError")
            }
        }
        #expect(read + refused == iterations)
        #expect(read > 0 && refused > 0 && models > 0)
        print("safetensors fuzz: \(iterations) mutated files, \(read) headers read (\(models) models loaded), \(refused) refused, no crash")
    }

    /// Headers that size memory or nest from outside: each refused by name, before anything
    /// is allocated for it.
    @Test func hostileHeadersAreRefused() {
        let hostile = [
            Self.file(header: "", dataBytes: 0),
            Self.file(header: String(repeating: "[", count: 100_000), dataBytes: 0),
            Self.file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#, dataBytes: 0),
            Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, dataBytes: 4),
            Self.file(
                header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4),
            Self.file(
                header: #"{"\#u{E9}":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e\#u{301}":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                dataBytes: 8),
            Self.file(header: #"{"__metadata__":{"k":1}}"#, dataBytes: 0),
        ]
        for (i, data) in hostile.enumerated() {
            #expect(throws: SafetensorsError.self, "header \(i)") { try Safetensors.readHeader(data, source: "hostile") }
            #expect(throws: SafetensorsError.self, "header \(i)") { try ModelFile.load(data, source: "hostile") }
        }
        // A header length of 2^64 - 1 or 2^63: refused by its size, not converted to an Int.
        for length in [UInt64.max, 1 << 63, 1 << 21] {
            var data = Data()
            withUnsafeBytes(of: length.littleEndian) { data.append(contentsOf: $0) }
            data.append(Data(count: 64))
            #expect(throws: SafetensorsError.self) { try Safetensors.readHeader(data, source: "hostile") }
        }
    }
}
