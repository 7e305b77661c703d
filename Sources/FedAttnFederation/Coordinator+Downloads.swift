import CoreMetrics
import FedAttnCodec
import FedAttnCore
import FedAttnModel
import Foundation

// Serving published versions piece by piece: deltas and whole payloads (`ServedVersions`),
// one payload per download (`Downloads`), and the kept model at the end.
extension Coordinator {
    /// Up to `maxBytes` of a model version's payload from `offset` (transports send models
    /// piece by piece), counted toward the round's bytes down. A client holding version
    /// `base` gets the delta from it when there is one (`ModelPiece.deltaFrom` says so),
    /// else the whole model. The pieces of one download come from one payload: the piece at
    /// offset 0 begins a download, and a later piece is served only from the payload that
    /// piece came from (`Downloads`). Read off the actor, many at once.
    /// - Throws: `.unknownVersion` (a version not served), `.otherDownload` (a later piece
    ///   of another payload than the download's, or of none begun), `.outOfRange` (past the
    ///   payload's end), `.unavailable` (the payload could not be made or read); each names
    ///   the client.
    public nonisolated func modelPiece(
        version: String, base: String? = nil, offset: Int, maxBytes: Int, for client: String
    ) async throws(CoordinatorError) -> ModelPiece {
        let (payload, range, deltaFrom) = try await pieceRange(version: version, base: base, offset: offset, maxBytes: maxBytes, for: client)
        do {
            return ModelPiece(bytes: try payload.read(range), totalBytes: payload.count, deltaFrom: deltaFrom)
        } catch {
            throw .unavailable("model \(version.prefix(12)) for client '\(client)': \(error)")
        }
    }

    func pieceRange(
        version: String, base: String?, offset: Int, maxBytes: Int, for client: String
    ) async throws(CoordinatorError) -> (PayloadFile, Range<Int>, String?) {
        // The payload for (version, base); a later piece must be of the one its download began with.
        let (payload, deltaFrom): (PayloadFile, String?)
        if version == served.current.version || served.previous?.version == version && served.previous?.payload(for: base) != nil {
            (payload, deltaFrom) = try await servedPayload(version: version, base: base, for: client)
        } else if version == keptVersion {
            (payload, deltaFrom) = (try await keptModelPayload(version, for: client), nil)
        } else {
            throw .unknownVersion(version, client: client)
        }
        try downloads.piece(for: client, version: version, base: base, offset: offset, of: payload)
        guard offset >= 0, offset <= payload.count else {
            throw .outOfRange("client '\(client)' asks for byte \(offset), past the end of the \(payload.count)-byte model \(version.prefix(12))")
        }
        let end = offset + min(max(maxBytes, 0), payload.count - offset)
        try handle(.downloaded(client: client, bytes: end - offset))
        metrics.bytesDown.increment(by: end - offset)
        return (payload, offset..<end, deltaFrom)
    }

    /// A published version's payload for `client` holding `base`: made already, or awaited
    /// while it is encoded off the actor (later requests wait for the same encoding).
    func servedPayload(version: String, base: String?, for client: String) async throws(CoordinatorError) -> (PayloadFile, String?) {
        // Aggregated in place and not yet published (staged): the values are the next
        // version's, so the current one can no longer be encoded.
        let answer: ServedVersions.Answer
        do {
            answer = try served.answer(version: version, base: base, weights: global.parameters, canEncode: staged == nil)
        } catch  where error.kind == .unknownVersion {
            throw .unknownVersion(version, client: client)
        }
        switch answer {
        case .ready(let file, let deltaFrom): return (file, deltaFrom)
        case .encoding(let kind, let task, let deltaFrom):
            do {
                let file = try await task.value
                served.finished(kind, of: version, file: file)
                return (file, deltaFrom)
            } catch {
                served.finished(kind, of: version, file: nil)
                throw .unavailable("model \(version.prefix(12)) could not be encoded for client '\(client)': \(error)")
            }
        }
    }

    /// The version of the round kept by validation, once the federation is done (before, the
    /// kept round may still change); nil when none was kept.
    var keptVersion: String? {
        guard machine.isDone, let round = machine.selection.bestRound else { return nil }
        return records.first { $0.round == round }?.modelVersion
    }

    /// The kept model as a whole float32 payload: read back from the state folder (or the copy
    /// held in memory without one) and encoded once, off the actor; clients that ask meanwhile
    /// wait for the same encoding.
    func keptModelPayload(_ version: String, for client: String) async throws(CoordinatorError) -> PayloadFile {
        let task: Task<PayloadFile, any Error>
        if let kept = keptEncoding, kept.version == version {
            task = kept.task
        } else {
            guard let round = machine.selection.bestRound else { throw .unknownVersion(version, client: client) }
            let (store, held, folder) = (store, keptModel?.parameters, payloadFolder)
            task = Task.detached {
                let weights: Weights
                if let store, let stored = try store.rounds().first(where: { $0.round == round }) {
                    weights = try store.model(of: stored).parameters
                } else if let held {
                    weights = held
                } else {
                    throw CoordinatorError.unknownVersion(version)
                }
                return try PayloadFile(in: folder) { write in try TensorPayload.encode(weights, precision: .float32, to: write) }
            }
            keptEncoding = (version, task)
        }
        do {
            return try await task.value
        } catch {
            if keptEncoding?.version == version { keptEncoding = nil }  // the next request tries again
            throw .unavailable("the kept model \(version.prefix(12)) could not be read or encoded for client '\(client)': \(error)")
        }
    }
}
