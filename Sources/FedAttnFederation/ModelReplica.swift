import FedAttnCodec
import FedAttnCore
import FedAttnModel
import Foundation
import Synchronization

/// The global model a silo holds between rounds: replaced by a whole download, brought up
/// to date by a delta download (a step added, or a catch-up's rows written: only the
/// changed rows are touched and rehashed), and after
/// either checked against the version it was downloaded as, so the silo trains on exactly
/// the coordinator's model.
final class ModelReplica: Sendable {
    /// The version held, its model (absent while lent out for training), and its digest.
    private let held = Mutex<(version: String, model: AttentionModel?, digest: ModelDigest)?>(nil)

    /// The version held, if any (a model lent out and not given back is not held).
    var version: String? { held.withLock { $0?.model == nil ? nil : $0?.version } }

    /// The model `global` names, moved out of the replica (not copied) for training in
    /// place; `giveBack` returns it, unchanged, afterwards. See `model(for:)` for errors.
    func lend(for global: GlobalModel) throws -> AttentionModel {
        _ = try model(for: global)
        return held.withLock { held in
            defer { held?.model = nil }
            return held!.model!
        }
    }

    /// Takes back a model lent for `version`.
    func giveBack(_ model: consuming AttentionModel, version: String) {
        held.withLock { held in
            if held?.version == version { held?.model = model }
        }
    }

    /// The model `global` names, from the one held (no download needed), a delta, or a whole payload.
    /// - Throws: `ModelDownloadError` when a delta is from another version than the one held
    ///   or the result is not the version asked for; `CodecError` for a payload that does not decode.
    func model(for global: GlobalModel) throws -> AttentionModel {
        try held.withLock { held throws -> AttentionModel in
            if let held, held.version == global.version, let model = held.model { return model }
            let layout = AttentionModel.layout(for: global.config)
            let maxBytes = TensorPayload.maximumSize(of: layout)
            let next: (version: String, model: AttentionModel, digest: ModelDigest)
            if let base = global.deltaFrom {
                guard let current = held, current.version == base, var model = current.model else {
                    throw ModelDownloadError.notHeld(base: base, held: held?.model == nil ? nil : held?.version)
                }
                var digest = current.digest
                // Decoded first: a delta that does not decode leaves the held model as it was.
                let (delta, precision) = try TensorPayload.decodeTagged(
                    global.payload, expecting: layout, maxBytes: maxBytes, accepting: [.float32Step, .float32])
                held = nil  // the model's only reference while it changes, in place
                if precision == .float32Step {
                    delta.add(to: &model.parameters)  // the additions the coordinator made
                } else {
                    delta.overwrite(&model.parameters)  // a catch-up: the changed rows' values
                }
                let rows = delta.tensors[0].rows ?? []
                digest.update(model.parameters, changedRows: rows)
                next = (global.version, model, digest)
            } else {
                let weights = try TensorPayload.decode(global.payload, expecting: layout, maxBytes: maxBytes, accepting: [.float32]).densified()
                next = (global.version, try AttentionModel(config: global.config, parameters: weights), ModelDigest(weights))
            }
            let got = next.digest.version
            guard got == global.version else { throw ModelDownloadError.mismatch(asked: global.version, got: got, delta: global.deltaFrom != nil) }
            held = next
            return next.model
        }
    }
}

/// A downloaded model that is not the version it was asked as.
public enum ModelDownloadError: Error, CustomStringConvertible {
    /// A delta from a version this client does not hold.
    case notHeld(base: String, held: String?)
    /// The model's values hash to another version.
    case mismatch(asked: String, got: String, delta: Bool)

    public var description: String {
        switch self {
        case .notHeld(let base, let held):
            "the coordinator sent a delta from model \(base.prefix(12)); this client holds \(held.map { String($0.prefix(12)) } ?? "none")"
        case .mismatch(let asked, let got, let delta):
            "model \(asked.prefix(12)) arrived as \(got.prefix(12))\(delta ? " after applying a delta" : "")"
        }
    }
}
