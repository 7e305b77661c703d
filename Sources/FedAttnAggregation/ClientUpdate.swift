public import FedAttnCore

/// One client's contribution to a round: how far its local training moved the model from
/// the global version it started from, and how many examples it trained on.
public struct ClientUpdate: Sendable {
    /// The client's identity (its certificate name), for logs and per-client limits.
    public let client: String
    /// Train examples behind the update: its weight in the average.
    public let exampleCount: Int
    /// local - global, tensor by tensor. Rows of a sparse tensor that the client did not
    /// change are absent, and count as zero.
    public let delta: SparseWeights
    /// Local optimiser steps behind the update (epochs x ceil(examples / batch)): FedNova's
    /// tau_i, which normalised averaging divides by. At least 1.
    public let localSteps: Int

    public init(client: String, exampleCount: Int, delta: SparseWeights, localSteps: Int = 1) {
        precondition(localSteps >= 1, "An update comes from at least one local step, got \(localSteps).")
        self.client = client
        self.exampleCount = exampleCount
        self.delta = delta
        self.localSteps = localSteps
    }
}
