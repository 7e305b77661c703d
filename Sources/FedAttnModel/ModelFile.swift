import FedAttnCore
import FedAttnSafetensors
import Foundation

/// Saving and loading a model as one `.safetensors` file whose metadata carries the
/// configuration, so that the file alone rebuilds the model.
public enum ModelFile {
    /// Writes `model` to `path` atomically (a temporary file, then a rename).
    public static func save(_ model: AttentionModel, to path: String) throws {
        let data = try Safetensors.encode(model.parameters, metadata: model.config.metadata)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads a model back; errors name the file.
    public static func load(from path: String) throws -> AttentionModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafetensorsError(source: path, reason: "no such file, or it cannot be read")
        }
        let (weights, metadata) = try Safetensors.decode(data, source: path)
        do throws(ModelConfigError) {
            let config = try ModelConfig(metadata: metadata)
            // Files written by other tools may order tensors differently: re-lay them out.
            return try AttentionModel(config: config, parameters: try reordered(weights, to: AttentionModel.layout(for: config)))
        } catch {
            throw SafetensorsError(source: path, reason: error.description)
        }
    }

    /// `weights` in `layout`'s order, when it holds exactly the same tensors. A file written
    /// before the interaction head (`ExampleRole`) lacks its two tensors: they are read as
    /// zeros, the head's untrained state, in which ranking orders items as clicks do.
    static func reordered(_ weights: Weights, to layout: ParameterLayout) throws(ModelConfigError) -> Weights {
        guard weights.layout != layout else { return weights }
        let head: Set<String> = [AttentionModel.TensorName.interactionWeight, AttentionModel.TensorName.interactionBias]
        let given = Set(weights.layout.tensors)
        let missing = Set(layout.tensors).subtracting(given)
        guard given.isSubset(of: Set(layout.tensors)), missing.allSatisfy({ head.contains($0.name) }) else {
            let want = layout.tensors.map { "\($0.name)\($0.shape)" }.joined(separator: ", ")
            let got = weights.layout.tensors.map { "\($0.name)\($0.shape)" }.joined(separator: ", ")
            throw .invalid("tensors [\(got)] do not match the configuration's [\(want)]")
        }
        var values: [Float] = []
        values.reserveCapacity(layout.count)
        for tensor in layout.tensors { values += weights.tensor(tensor.name) ?? [Float](repeating: 0, count: tensor.elementCount) }
        return Weights(layout: layout, values: values)
    }
}
