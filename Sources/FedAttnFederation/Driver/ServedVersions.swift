import FedAttnCodec
package import FedAttnCore
import Foundation

/// The model versions a coordinator serves and the payload each client downloads: for a
/// client holding the version before, the step from it; for one holding an older version
/// still on the trail, a catch-up (the item rows changed since, and every other tensor) when
/// smaller than the model; else the whole model. Payloads are files, encoded when first asked
/// for (with every client holding the version before, no round encodes the whole model).
///
/// A value the coordinator owns: it says what to send or what to encode, and the coordinator
/// awaits the encoding off the actor and hands the file back (`finished`).
package struct ServedVersions: Sendable {
    /// A published version: the step from the version before (for clients holding that one)
    /// when it is smaller than the model, and the payloads asked for so far.
    package struct Published: Sendable {
        package let version: String
        package let delta: (from: String, payload: PayloadFile)?
        var encoded: [PayloadKind: PayloadFile] = [:]
        /// Older versions whose holders are sent the whole model (a catch-up would not be smaller).
        var wholeFor: Set<String> = []

        /// What was made for a client holding `base`, if anything.
        func payload(for base: String?) -> (PayloadFile, deltaFrom: String?)? {
            if let base, let delta, delta.from == base { return (delta.payload, base) }
            if let base, let file = encoded[.catchUp(from: base)] { return (file, base) }
            return encoded[.whole].map { ($0, nil) }
        }
    }

    /// A payload of a version encoded when first asked for: the whole model, or a catch-up
    /// (float32 values of the item rows changed since an older version, and of every other
    /// tensor, which replace the held ones).
    package enum PayloadKind: Hashable, Sendable {
        case whole
        case catchUp(from: String)
    }

    /// What a request gets: a payload made already, or one to await (being encoded).
    package enum Answer {
        case ready(PayloadFile, deltaFrom: String?)
        case encoding(PayloadKind, Task<PayloadFile, any Error>, deltaFrom: String?)
    }

    /// The most catch-ups (from distinct older versions) encoded of one version.
    package static let catchUpsPerVersion = 4

    /// The version clients are sent now.
    package private(set) var current: Published
    /// The version before, still served (its delta, and the payloads made of it) to clients
    /// finishing downloads they started.
    package private(set) var previous: Published?
    /// The recent versions and the rows each changed: what a catch-up sends.
    private var trail: VersionTrail
    /// Payloads of the current version being encoded.
    private var encodings: [PayloadKind: Task<PayloadFile, any Error>] = [:]
    /// Where payload files are made.
    package let folder: String

    /// Serves `version` (a fresh or resumed coordinator's model: nothing older is known).
    package init(version: String, folder: String) {
        current = Published(version: version, delta: nil)
        trail = VersionTrail(current: version)
        self.folder = folder
    }

    /// The published form of a new version: its step from `delta.from` encoded into a file
    /// when smaller than the whole model (`layout`'s values as float32) would be.
    /// - Throws: what encoding or writing the file throws.
    package static func publish(
        version: String, delta: (from: String, weights: SparseWeights)?, layout: ParameterLayout, in folder: String
    ) throws -> Published {
        let deltaFile = try delta.map { try PayloadFile(TensorPayload.encode($0.weights, precision: .float32Step), in: folder) }
        guard let delta, let deltaFile, deltaFile.count < 4 * layout.count else { return Published(version: version, delta: nil) }
        return Published(version: version, delta: (delta.from, deltaFile))
    }

    /// What a client holding `base` (nil: none) is sent of `version`. `weights` are the current
    /// version's values (what an encoding reads); `canEncode` is false once they have moved on
    /// to a version not yet published (then only payloads made already are served).
    /// - Throws: `.unknownVersion` for a version not served (or not encodable any more).
    package mutating func answer(version: String, base: String?, weights: Weights, canEncode: Bool) throws(CoordinatorError) -> Answer {
        if version == current.version { return try currentAnswer(base: base, weights: weights, canEncode: canEncode) }
        if let previous, previous.version == version, let (file, from) = previous.payload(for: base) { return .ready(file, deltaFrom: from) }
        throw .unknownVersion(version)
    }

    private mutating func currentAnswer(base: String?, weights: Weights, canEncode: Bool) throws(CoordinatorError) -> Answer {
        guard let base, base != current.version, !current.wholeFor.contains(base) else {
            return try start(.whole, weights: weights, canEncode: canEncode, deltaFrom: nil)
        }
        if let delta = current.delta, delta.from == base { return .ready(delta.payload, deltaFrom: base) }
        let kind = PayloadKind.catchUp(from: base)
        if current.encoded[kind] != nil || encodings[kind] != nil { return try start(kind, weights: weights, canEncode: canEncode, deltaFrom: base) }
        // Each base costs an encoding up to the model's size: a few per version, then whole
        // models (which every base shares), so clients naming many old versions cannot make
        // the coordinator encode dozens.
        let catchUps = current.encoded.keys.filter { $0 != .whole }.count + encodings.keys.filter { $0 != .whole }.count
        guard catchUps < Self.catchUpsPerVersion else { return try start(.whole, weights: weights, canEncode: canEncode, deltaFrom: nil) }
        let layout = weights.layout
        let width = layout.tensors[0].shape[1], others = layout.count - layout.tensors[0].elementCount
        guard let rows = trail.rowsChanged(since: base), rows.count * width + others < layout.count else {
            current.wholeFor.insert(base)
            return try start(.whole, weights: weights, canEncode: canEncode, deltaFrom: nil)
        }
        return try start(kind, tableRows: rows, weights: weights, canEncode: canEncode, deltaFrom: base)
    }

    /// A payload of the current version: made already, being encoded, or started now (off the
    /// actor, streaming: never whole in memory). The encoder holds its own reference to the
    /// values, so a round aggregated meanwhile copies the model rather than change them.
    private mutating func start(
        _ kind: PayloadKind, tableRows: [Int32]? = nil, weights: Weights, canEncode: Bool, deltaFrom: String?
    ) throws(CoordinatorError) -> Answer {
        if let file = current.encoded[kind] { return .ready(file, deltaFrom: deltaFrom) }
        if let running = encodings[kind] { return .encoding(kind, running, deltaFrom: deltaFrom) }
        guard canEncode else { throw .unknownVersion(current.version) }
        var rows = weights.layout.tensors.map { _ in nil as [Int32]? }
        if case .catchUp = kind {
            precondition(tableRows != nil, "A catch-up is started with its rows.")
            rows[0] = tableRows
        }
        let task = Task.detached { [folder] in
            try PayloadFile(in: folder) { write in try TensorPayload.encode(weights, rows: rows, precision: .float32, to: write) }
        }
        encodings[kind] = task
        return .encoding(kind, task, deltaFrom: deltaFrom)
    }

    /// An encoding of `version` ended: its file is kept for later requests (with the version
    /// before, when published over meanwhile: clients that started it finish it), or, failed
    /// (`file` nil), the next request starts it again.
    package mutating func finished(_ kind: PayloadKind, of version: String, file: PayloadFile?) {
        if current.version == version {
            encodings[kind] = nil
            if let file { current.encoded[kind] = file }
        } else if let file, previous?.version == version {
            previous?.encoded[kind] = file
        }
    }

    /// A new version is on its way: clients still downloading the current one may finish; the
    /// one before it goes.
    package mutating func forgetPrevious() { previous = nil }

    /// Serves `new`, published after the current version with the item rows `changedRows`
    /// changed (nil: not known, so no catch-up reaches across it).
    package mutating func publish(_ new: Published, changedRows: [Int32]?) {
        previous = current
        encodings = [:]
        current = new
        trail.append(new.version, changedRows: changedRows)
    }
}
