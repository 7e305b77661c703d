import FedAttnCore
import FedAttnModel
import FedAttnSafetensors
import Foundation
import Testing
import _FedAttnTestSupport

struct SafetensorsTests {
    @Test func aModelSurvivesASaveAndLoadBitForBit() throws {
        let model = try AttentionModel(config: ModelConfig(items: .hashed(buckets: 500), strategies: 3), seed: 42)
        let path = (try Fixtures.temporaryFolder() as NSString).appendingPathComponent("model.safetensors")
        try ModelFile.save(model, to: path)
        let loaded = try ModelFile.load(from: path)
        #expect(loaded.config == model.config)
        #expect(loaded.parameters.layout == model.parameters.layout)
        #expect(loaded.parameters.values.map(\.bitPattern) == model.parameters.values.map(\.bitPattern))
    }

    @Test func decodesAFileBuiltByHandFromTheSpecification() throws {
        // 8-byte little-endian header length, JSON header, then little-endian F32 data.
        let header =
            #"{"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        for value: Float in [1.5, -2, 0.25] { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        let (weights, metadata) = try Safetensors.decode(bytes, source: "hand-made")
        #expect(metadata == ["k": "v"])
        #expect(weights.layout.tensors.map(\.name) == ["a", "b"])
        #expect(weights.tensor("a") == [1.5, -2])
        #expect(weights.tensor("b") == [0.25])
    }

    @Test func refusesTruncatedAndInconsistentFiles() throws {
        let model = try AttentionModel(config: Fixtures.tinyConfig, seed: 1)
        let good = try Safetensors.encode(model.parameters, metadata: [:])
        #expect(throws: SafetensorsError.self) { try Safetensors.decode(good.prefix(good.count - 4), source: "t") }
        #expect(throws: SafetensorsError.self) { try Safetensors.decode(Data([1, 2, 3]), source: "t") }
        #expect(throws: SafetensorsError.self) { try Safetensors.decode(Data(repeating: 0xFF, count: 64), source: "t") }
    }

    @Test func aFileOfAnotherConfigurationIsRefusedByName() throws {
        let model = try AttentionModel(config: Fixtures.tinyConfig, seed: 1)
        var metadata = model.config.metadata
        metadata["hidden"] = "16"
        let path = try Fixtures.writeTemporaryFile("bad.safetensors", "")
        try Safetensors.encode(model.parameters, metadata: metadata).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: SafetensorsError.self) { try ModelFile.load(from: path) }
        #expect(error.description.contains(path))
        #expect(error.description.contains("hidden.weight"))
    }

    /// No metadata sizes memory: a history of 10^11 items (which once aborted `evaluate`
    /// asking for 400 GB) or of 99,999,999 (814 MB), or any other size past
    /// `ModelConfig`'s bounds, is refused naming the file and the field, before anything is
    /// allocated for the model.
    @Test func metadataSizesPastTheBoundsAreRefusedByName() throws {
        let model = try AttentionModel(config: Fixtures.tinyConfig, seed: 1)
        let oversized = [
            ("history_length", "100000000000"), ("history_length", "99999999"), ("dim", "1048576"), ("hidden", "1000000000"),
            ("strategies", "100000000"), ("items", "hash:2000000000"), ("items", "catalogue:100000000"),
        ]
        for (field, value) in oversized {
            var metadata = model.config.metadata
            metadata[field] = value
            if field == "items" { metadata["dim"] = "1024" }  // catalogue:100000000 at d = 1024: past the parameter bound
            let path = try Fixtures.writeTemporaryFile("outside.safetensors", "")
            try Safetensors.encode(model.parameters, metadata: metadata).write(to: URL(fileURLWithPath: path))
            let started = ContinuousClock.now
            let error = try #require(throws: SafetensorsError.self) { try ModelFile.load(from: path) }
            #expect(error.description.hasPrefix("\(path): not a usable safetensors file: invalid model configuration: "), "\(error)")
            #expect(error.description.contains(field) && error.description.contains(value), "\(error)")
            #expect(ContinuousClock.now - started < .seconds(10), "refused at once, not after allocating")
        }
        // The bounds leave the benchmarks' sizes well inside.
        #expect(throws: Never.self) {
            try ModelConfig(dim: 32, historyLength: 20, hidden: 64, items: .hashed(buckets: 4_000_000), strategies: 3).validate()
        }
    }

    /// A header's sizes are checked without overflow: a shape whose product or byte count
    /// overflows an `Int`, byte ranges at the ends of `Int`, or a tensor without a name is an
    /// error naming the file, not a trap or an allocation.
    @Test func headersThatWouldOverflowOrTrapAreRefused() throws {
        func file(_ header: String) -> Data {
            var bytes = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: Array(header.utf8))
            bytes.append(contentsOf: [UInt8](repeating: 0, count: 12))
            return bytes
        }
        let headers = [
            #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,12]}}"#,
            #"{"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,12]}}"#,
            #"{"a":{"dtype":"F32","shape":[100000000000],"data_offsets":[0,400000000000]}}"#,
            #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[-9223372036854775808,12]}}"#,
            #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[9223372036854775795,9223372036854775807]}}"#,
            #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[12,0]}}"#,
            #"{"":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#,
        ]
        for header in headers {
            let error = try #require(throws: SafetensorsError.self, "\(header)") {
                try Safetensors.decode(file(header), source: "outside.safetensors")
            }
            #expect(error.description.hasPrefix("outside.safetensors: "), "\(error)")
        }
        // The same file with sane numbers reads.
        let good = try Safetensors.decode(file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#), source: "t")
        #expect(good.weights.tensor("a") == [0, 0, 0])
    }

    @Test(.enabled(if: ProcessRunner.pythonHasSafetensors, "needs python3 with the safetensors package"))
    func pythonsSafetensorsReadsOurFilesAsTheyAre() throws {
        let model = try AttentionModel(config: ModelConfig(), seed: 5)
        let path = (try Fixtures.temporaryFolder() as NSString).appendingPathComponent("m.safetensors")
        try ModelFile.save(model, to: path)
        let script = """
            import sys
            from safetensors import safe_open
            from safetensors.numpy import load_file
            t = load_file(sys.argv[1])
            with safe_open(sys.argv[1], framework="numpy") as f: meta = f.metadata()
            for name in sorted(t): print(name, list(t[name].shape), str(t[name].dtype), repr(float(t[name].astype("float64").sum())))
            print("items", meta["items"], "dim", meta["dim"])
            """
        let result = try ProcessRunner.run(try #require(ProcessRunner.which("python3")), ["-c", script, path])
        #expect(result.status == 0, "\(result.standardError)")
        var expected: [String] = model.parameters.layout.tensors.sorted { $0.name < $1.name }.map { spec in
            let sum = model.parameters.tensor(spec.name)!.reduce(0.0) { $0 + Double($1) }
            return "\(spec.name) \(spec.shape) float32 \(sum)"
        }
        expected.append("items catalogue:1682 dim 32")
        // Sums are compared by value: Python's repr and Swift's description agree on shortest round-trip digits.
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == expected.count)
        for (line, want) in zip(lines, expected) {
            let got = line.split(separator: " "), exp = want.split(separator: " ")
            #expect(got.dropLast() == exp.dropLast(), "\(line) vs \(want)")
            if let a = Double(got.last!), let b = Double(exp.last!) {
                #expect(abs(a - b) <= 1e-9 * max(1, abs(b)))
            } else {
                #expect(got.last == exp.last)
            }
        }
    }
}
