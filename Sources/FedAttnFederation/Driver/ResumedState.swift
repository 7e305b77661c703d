import FedAttnAggregation
import FedAttnCodec
import FedAttnCore
import FedAttnModel
import FedAttnSecAgg
import Foundation

/// What a coordinator starts from: its state folder's last published round (model, server
/// optimiser state, records, the round still unevaluated, privacy charges, the rows trained
/// so far), or the initial model without one. Read and checked before the coordinator runs,
/// so that a folder it cannot resume from stops it, naming the file, with nothing rewritten.
struct ResumedState {
    var model: AttentionModel
    var strategy: any Strategy
    /// The evaluated rounds' records, oldest first.
    var records: [RoundRecord] = []
    /// The last round, published but not yet evaluated (its evaluation is asked again).
    var unevaluated: RoundOutcome?
    var privacyCharges: [PrivacyCharge] = []
    /// With secure aggregation: the item rows some silo has trained so far.
    var knownRows: RowSet
    /// The most-popular baseline's pool as it closed, and the silos' sums (nil before it closed).
    var popularity: StoredPopularity?

    /// - Throws: `StateFolderError` for a folder of another model configuration or server
    ///   optimiser, or whose server state or known rows cannot be read; the store's errors.
    init(store: StateStore?, modelConfig: ModelConfig, initialModel: AttentionModel, strategy: any Strategy) throws {
        model = initialModel
        self.strategy = strategy
        knownRows = RowSet(rows: initialModel.parameters.layout.tensors[0].shape[0])
        guard let store else { return }
        let stored = try store.rounds()
        if let last = stored.last {
            model = try store.model(of: last)
            guard model.config == modelConfig else { throw Self.otherConfiguration(folder: store.folder, stored: model.config, asked: modelConfig) }
            records = stored.compactMap(\.evaluation)
            try Self.restoreServerState(of: last, from: store, into: &self.strategy, model: model.parameters.layout)
            if last.evaluation == nil {
                unevaluated = RoundOutcome(
                    round: last.round, participants: last.participants, examples: last.examples, bytesUpPerClient: last.bytesUpPerClient,
                    trainSecondsMax: last.trainSecondsMax, dpSamplingRate: last.dpSamplingRate)
            }
        }
        if let bitmap = try store.secureRows() {
            guard let rows = RowSet(rows: knownRows.rows, bitmap: bitmap) else {
                throw StateFolderError("\(store.folder)/\(StateStore.secureRowsFile) does not fit the model's \(knownRows.rows) item rows")
            }
            knownRows = rows
        }
        privacyCharges = try store.privacyCharges()
        popularity = try store.popularity()
    }

    /// The refusal of a folder whose model differs from the one asked for, naming every
    /// setting that differs (by its metadata name) with both values.
    static func otherConfiguration(folder: String, stored: ModelConfig, asked: ModelConfig) -> StateFolderError {
        let (a, b) = (stored.metadata, asked.metadata)
        let differing = Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }
            .map { "\($0) \(a[$0] ?? "absent") in the folder, \(b[$0] ?? "absent") asked" }
        return StateFolderError(
            "\(folder): holds a model of another configuration (\(differing.joined(separator: "; "))); "
                + "run with the folder's settings, or start a new --state folder")
    }

    /// Gives `strategy` the state stored with round `last`; refuses a state folder whose
    /// server optimiser is another than this coordinator's (its moments would be lost or misread).
    private static func restoreServerState(
        of last: StateStore.StoredRound, from store: StateStore, into strategy: inout any Strategy, model: ParameterLayout
    ) throws(StateFolderError) {
        let stored: Data?
        do {
            stored = try store.serverState(of: last)
        } catch {
            throw StateFolderError(
                "\(store.folder)/\(last.serverStateFile ?? ""): cannot read round \(last.round)'s server optimiser state (\(error.localizedDescription))"
            )
        }
        let layout = strategy.stateLayout(for: model)
        let mismatch = StateFolderError(
            "the state folder's round \(last.round) was aggregated by another server optimiser than \(strategy.name); "
                + "run with the same --strategy, or start a new --state folder")
        switch (stored, layout) {
        case (nil, nil): return
        case (nil, _?):
            throw StateFolderError(
                "the state folder's round \(last.round) has no server optimiser state (written by a stateless rule such as FedAvg, or before "
                    + "states were stored); \(strategy.name) cannot resume from it: run with that rule, or start a new --state folder")
        case (let data?, let layout?):
            let state: SparseWeights
            do {
                state = try TensorPayload.decode(data, expecting: layout, maxBytes: TensorPayload.maximumSize(of: layout), accepting: [.float32])
            } catch .otherLayout {
                // Another optimiser's tensors are named after it, so they do not decode as these.
                throw mismatch
            } catch {
                throw StateFolderError("\(store.folder)/\(last.serverStateFile ?? ""): \(error)")
            }
            strategy.restore(state)
        default: throw mismatch
        }
    }
}
