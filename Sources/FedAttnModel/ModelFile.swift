import FedAttnCore
import FedAttnSafetensors
public import Foundation

/// Saving and loading a model as one `.safetensors` file whose metadata carries the
/// configuration, so that the file alone rebuilds the model.
public enum ModelFile {
    /// Writes `model` to `path` atomically (a temporary file, then a rename).
    public static func save(_ model: AttentionModel, to path: String) throws {
        let data = try Safetensors.encode(model.parameters, metadata: model.config.metadata)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads a model back; errors name the file. The metadata's configuration is checked
    /// (`ModelConfig.validate`, with its bounds), and then the tensors the header declares
    /// against it, before anything is allocated for the model: no file can size memory
    /// beyond its own length, or abort the process.
    public static func load(from path: String) throws -> AttentionModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafetensorsError(source: path, reason: "no such file, or it cannot be read")
        }
        return try load(data, source: path)
    }

    /// A model from a file's bytes, checked as `load(from:)` checks a file; `source` names
    /// the file in errors.
    /// - Throws: `SafetensorsError`, whatever is wrong with the bytes.
    public static func load(_ data: Data, source: String) throws -> AttentionModel {
        let header = try Safetensors.readHeader(data, source: source)
        do throws(ModelConfigError) {
            let config = try ModelConfig(metadata: header.metadata)
            let layout = AttentionModel.layout(for: config)
            try check(header.layout, fits: layout)
            // Files written by other tools may order tensors differently: re-lay them out.
            return try AttentionModel(config: config, parameters: try reordered(Safetensors.weights(data, header: header), to: layout))
        } catch {
            throw SafetensorsError(source: source, reason: error.description)
        }
    }

    /// The tensors a file may hold for `layout`: exactly its tensors, in any order, or all of
    /// them but the interaction head's two (a file written before the head,
    /// `ExampleRole`). The error names the first tensor that does not fit.
    static func check(_ given: ParameterLayout, fits layout: ParameterLayout) throws(ModelConfigError) {
        let head: Set<String> = [AttentionModel.TensorName.interactionWeight, AttentionModel.TensorName.interactionBias]
        for tensor in layout.tensors {
            guard let index = given.index(of: tensor.name) else {
                if head.contains(tensor.name) { continue }
                throw .invalid("the file has no tensor '\(tensor.name)'; its configuration needs \(tensor.name)\(tensor.shape)")
            }
            let shape = given.tensors[index].shape
            guard shape == tensor.shape else {
                let shown = shape.count > 8 ? "\(Array(shape.prefix(8)))…" : "\(shape)"
                throw .invalid("tensor '\(tensor.name)' is \(shown) in the file, but its configuration needs \(tensor.shape)")
            }
        }
        if let stranger = given.tensors.first(where: { layout.index(of: $0.name) == nil }) {
            let name = stranger.name.count > 64 ? String(stranger.name.prefix(64)).debugDescription + "…" : stranger.name.debugDescription
            throw .invalid("tensor \(name) is not part of this model")
        }
    }

    /// `weights` in `layout`'s order, when it holds exactly the same tensors. A file written
    /// before the interaction head (`ExampleRole`) lacks its two tensors: they are read as
    /// zeros, the head's untrained state, in which ranking orders items as clicks do.
    static func reordered(_ weights: Weights, to layout: ParameterLayout) throws(ModelConfigError) -> Weights {
        guard weights.layout != layout else { return weights }
        try check(weights.layout, fits: layout)
        var values: [Float] = []
        values.reserveCapacity(layout.count)
        for tensor in layout.tensors { values += weights.tensor(tensor.name) ?? [Float](repeating: 0, count: tensor.elementCount) }
        return Weights(layout: layout, values: values)
    }
}
