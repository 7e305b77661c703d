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
