import FedAttnCodec
import FedAttnCore
import Foundation
import Testing

struct TensorPayloadTests {
    static let layout = ParameterLayout([TensorSpec(name: "table", shape: [6, 4]), TensorSpec(name: "bias", shape: [3])])

    static func delta() -> Weights {
        var values = [Float](repeating: 0, count: 27)
        for i in 4..<8 { values[i] = Float(i) * 0.011 }  // row 1
        for i in 16..<20 { values[i] = -Float(i) * 0.003 }  // row 4
        values[24] = 0.5
        values[25] = -1.25
        values[26] = 3e-3
        return Weights(layout: layout, values: values)
    }

    @Test func sparseRowsCarryOnlyTheChangedRows() {
        let sparse = SparseWeights(Self.delta(), sparseTensors: ["table"])
        #expect(sparse.tensors[0].rows == [1, 4])
        #expect(sparse.tensors[1].rows == nil)
        #expect(sparse.scalarCount == 8 + 3)
        #expect(sparse.densified() == Self.delta())
    }

    @Test func float32PayloadsAreBitExact() throws {
        let sparse = SparseWeights(Self.delta(), sparseTensors: ["table"])
        let payload = try TensorPayload.encode(sparse, precision: .float32)
        let decoded = try TensorPayload.decode(payload, expecting: Self.layout, maxBytes: 1 << 16)
        #expect(decoded.densified().values.map(\.bitPattern) == Self.delta().values.map(\.bitPattern))
    }

    @Test func float16PayloadsKeepThreeSignificantDigits() throws {
        let payload = try TensorPayload.encode(SparseWeights(Self.delta(), sparseTensors: ["table"]), precision: .float16)
        let decoded = try TensorPayload.decode(payload, expecting: Self.layout, maxBytes: 1 << 16).densified()
        for (a, b) in zip(decoded.values, Self.delta().values) { #expect(abs(a - b) <= 1e-3 * abs(b)) }
    }

    @Test func rowsStreamedFromAModelDecodeToThoseRowsValuesAndCatchUpAHeldModel() throws {
        // 1.3M values: more than the encoder's plane buffer, so rows straddle its refills.
        let layout = ParameterLayout([TensorSpec(name: "table", shape: [40_000, 33]), TensorSpec(name: "bias", shape: [5])])
        var model = Weights(zerosLike: layout)
        for i in model.values.indices { model.values[i] = Float(i % 1_009) * 0.25 - 100 }
        let rows = stride(from: 1, to: 40_000, by: 3).map { Int32($0) }
        var payload = Data()
        try TensorPayload.encode(model, rows: [rows, nil], precision: .float32) { payload.append(contentsOf: $0) }
        let (decoded, precision) = try TensorPayload.decodeTagged(
            payload, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout), accepting: [.float32])
        #expect(precision == .float32)
        #expect(decoded.tensors[0].rows == rows)
        #expect(decoded.tensors[1].values == Array(model.values[(40_000 * 33)...]))
        // A held model that differs from this one in those rows (and the bias) becomes it.
        var held = model
        for row in rows { held.values[Int(row) * 33] += 1 }
        held.values[held.values.count - 1] = 7
        decoded.overwrite(&held)
        #expect(held.values.map(\.bitPattern) == model.values.map(\.bitPattern))
        // Sent whole, streamed: the one-shot encoding's values.
        var whole = Data()
        try TensorPayload.encode(model, precision: .float32) { whole.append(contentsOf: $0) }
        #expect(try TensorPayload.decode(whole, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout)).densified() == model)
    }

    @Test func aPayloadForAnotherLayoutIsRefusedByName() throws {
        let payload = try TensorPayload.encode(SparseWeights(Self.delta(), sparseTensors: []), precision: .float32)
        let other = ParameterLayout([TensorSpec(name: "table", shape: [6, 5]), TensorSpec(name: "bias", shape: [3])])
        #expect(throws: CodecError.malformed("tensor 'table' has shape [6, 4], expected [6, 5]")) {
            try TensorPayload.decode(payload, expecting: other, maxBytes: 1 << 16)
        }
        let renamed = ParameterLayout([TensorSpec(name: "table", shape: [6, 4]), TensorSpec(name: "offset", shape: [3])])
        #expect(throws: CodecError.otherLayout("tensor 'bias' where 'offset' was expected")) {
            try TensorPayload.decode(payload, expecting: renamed, maxBytes: 1 << 16)
        }
        #expect(throws: CodecError.self) { try TensorPayload.decode(payload, expecting: Self.layout, maxBytes: 16) }
    }
}

struct PayloadLimitTests {
    @Test func theLayoutBoundFitsTheLargestLegitimatePayloadAndNoMore() throws {
        let layout = TensorPayloadTests.layout
        var everyRow = Weights(zerosLike: layout)
        for i in everyRow.values.indices { everyRow.values[i] = Float(i) + 1 }
        let payload = try TensorPayload.encode(SparseWeights(everyRow, sparseTensors: ["table"]), precision: .float32)
        let bound = TensorPayload.maximumSize(of: layout)
        #expect(throws: Never.self) { try TensorPayload.decode(payload, expecting: layout, maxBytes: bound) }
        #expect(throws: CodecError.self) { try TensorPayload.decode(payload, expecting: layout, maxBytes: bound - 5) }
    }
}
