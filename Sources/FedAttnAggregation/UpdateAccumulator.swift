public import FedAttnCore

/// The example-weighted sum of a round's updates, folded in as they arrive, so memory stays
/// the size of what the round's updates touched however many clients report and however
/// large the model: an embedding table's sums are kept only for the rows sent.
///
/// For tensors sent as rows (embedding tables) it also sums, per row, the weight of the
/// clients that sent that row, so a row can be averaged over the clients that trained it
/// (`rowWise`), rather than diluted by every client that never saw the item.
public struct UpdateAccumulator: Sendable {
    /// How each update weighs in the mean.
    public enum Weighting: Sendable, Equatable {
        /// FedAvg's: by examples, p_i = n_i / N (McMahan et al., 2017).
        case examples
        /// FedNova's normalised averaging (Wang et al., "Tackling the Objective Inconsistency
        /// Problem in Heterogeneous Federated Optimization", NeurIPS 2020): each delta divided
        /// by its local steps tau_i, then scaled by tau_eff:
        ///   mean = tau_eff * sum p_i delta_i / tau_i,
        /// tau_eff = sum p_i tau_i (the paper's), capped so that the coefficients
        /// c_i = tau_eff p_i / tau_i sum to at most `maxCoefficientSum`.
        /// With one local epoch a silo ten times larger takes ten times the steps, so FedAvg
        /// in effect minimises sum p_i tau_i F_i (weights growing with n_i squared), not
        /// sum p_i F_i; FedNova's mean takes each silo's per-step direction at its share, for
        /// any tau_eff. Equal steps give FedAvg's mean.
        case normalized

        /// The cap on FedNova's coefficients' sum. In a direction each silo's local optimiser
        /// settles within the round (a bias), every delta is a whole step to that silo's
        /// optimum, and the mean moves sum c_i such steps: at 2 or more it overshoots into an
        /// oscillation (with the paper's tau_eff the sum is 2.17 on dirichlet0.5-10, whose
        /// curve alternates). It also bounds what an inflated example count can scale the
        /// step by. Equal steps make the sum 1, untouched.
        public static let maxCoefficientSum = 1.5

        /// Each client's coefficient in the mean (sum coefficient_i delta_i), from its
        /// examples n_i and local steps tau_i (same order): n_i / N, or FedNova's
        /// (n_i / tau_i) (sum n_j tau_j) / N^2. What a client scales its delta by before a
        /// secure sum, where no one else sees it.
        public func coefficients(examples: [Int], steps: [Int]) -> [Double] {
            precondition(examples.count == steps.count, "One step count per client.")
            var totals = Totals()
            let weights = zip(examples, steps).map { totals.add(examples: $0, steps: $1, weighting: self) }
            guard totals.examples > 0 else { return examples.map { _ in 0 } }
            let divisor = divisor(totals)
            return weights.map { $0 / divisor }
        }

        /// An update's weight in the running sum: n_i, or FedNova's n_i / tau_i.
        func weight(examples: Int, steps: Int) -> Double {
            self == .normalized ? Double(examples) / Double(max(steps, 1)) : Double(examples)
        }

        /// What the weighted sum is divided by to make the mean: N, or FedNova's N^2 / tau_eff =
        /// N^2 / sum n_i tau_i, raised so the coefficients sum to at most the cap.
        func divisor(_ totals: Totals) -> Double {
            let n = Double(totals.examples)
            switch self {
            case .examples: return n
            case .normalized: return max(n * n / totals.exampleSteps, totals.weights / Self.maxCoefficientSum)
            }
        }
    }

    /// The sums over a round's updates that its mean's divisor is made from.
    struct Totals: Sendable {
        var examples = 0
        /// sum n_i tau_i, for FedNova's tau_eff.
        var exampleSteps = 0.0
        /// sum of the updates' weights, for FedNova's cap.
        var weights = 0.0

        /// Counts one update of `n` examples and `steps` local steps; returns its weight.
        mutating func add(examples n: Int, steps: Int, weighting: Weighting) -> Double {
            let weight = weighting.weight(examples: n, steps: steps)
            examples += n
            exampleSteps += Double(n) * Double(steps)
            weights += weight
            return weight
        }
    }

    public let layout: ParameterLayout
    public let weighting: Weighting
    private var totals = Totals()
    /// Per tensor, its sums: whole (a tensor first sent whole) or by row (a table first sent
    /// as rows). Sums of exampleCount * delta are kept in Float: over 200 updates their mean
    /// stays within 1e-6 of a Double sum's, relative to the mean's largest value (see
    /// FedAvgTests), far below the Float32 rounding of the model they are added to.
    private var sums: [TensorSums?]
    public var totalExamples: Int { totals.examples }
    public private(set) var clients: [String] = []
    /// Every update as it came, when asked for (`keepingUpdates`): what a robust rule needs
    /// (a median is not a running sum). Their memory is the updates' own.
    public private(set) var updates: [ClientUpdate] = []
    public let keepsUpdates: Bool

    /// One tensor's running sums.
    enum TensorSums: Sendable {
        /// Every value, and (for a table also sent as rows) each row's summed weight.
        case whole(values: [Float], rowWeights: [Double]?)
        /// The rows sent, each with its sums and summed weight; rows in first-sent order.
        case rows(RowSums)
    }

    /// A table's sums by row: only the rows some client sent.
    struct RowSums: Sendable {
        let width: Int
        var slotOfRow: [Int32: Int] = [:]
        var rows: [Int32] = []
        var values: [Float] = []
        var weights: [Double] = []

        mutating func add(row: Int32, _ delta: ArraySlice<Float>, weight: Double) {
            let slot: Int
            if let known = slotOfRow[row] {
                slot = known
            } else {
                slot = rows.count
                slotOfRow[row] = slot
                rows.append(row)
                values.append(contentsOf: repeatElement(0, count: width))
                weights.append(0)
            }
            let floatWeight = Float(weight)
            var j = slot * width
            for value in delta {
                values[j] += floatWeight * value
                j += 1
            }
            weights[slot] += weight
        }
    }

    /// Tensors summed by row however an update sends them (whole or as rows): the
    /// embedding tables that grow with the catalogue.
    public let tables: Set<String>

    /// Sums for `layout`; `tables` are kept by the rows sent (a table first sent as rows is
    /// too), so their memory and the round's step grow with the rows touched.
    /// - Precondition: `rowWise` means are not asked of `.normalized` sums.
    public init(layout: ParameterLayout, tables: Set<String> = [], keepingUpdates: Bool = false, weighting: Weighting = .examples) {
        self.layout = layout
        self.weighting = weighting
        self.tables = tables
        keepsUpdates = keepingUpdates
        sums = Array(repeating: nil, count: layout.tensors.count)
    }

    /// Folds in one update. The caller has checked its layout.
    public mutating func add(_ update: ClientUpdate) {
        precondition(update.delta.layout == layout, "An update of another layout cannot be accumulated.")
        precondition(update.exampleCount > 0, "An update must carry at least one example.")
        // FedNova: n_i / tau_i here, the rest of tau_eff / N when the mean is taken.
        let weight = totals.add(examples: update.exampleCount, steps: update.localSteps, weighting: weighting)
        let floatWeight = Float(weight)
        for (i, tensor) in update.delta.tensors.enumerated() {
            let spec = layout.tensors[i]
            let width = spec.shape.count == 2 ? spec.shape[1] : 0
            let byRow = spec.shape.count == 2 && (tables.contains(spec.name) || tensor.rows != nil)
            switch (sums[i], byRow) {
            case (nil, true), (.rows, _):
                guard case .rows(var table) = sums[i] ?? .rows(RowSums(width: width)) else { fatalError("unreachable") }
                sums[i] = nil  // in place: the only reference while folding
                if let rows = tensor.rows {
                    for (k, row) in rows.enumerated() { table.add(row: row, tensor.values[(k * width)..<((k + 1) * width)], weight: weight) }
                } else {
                    // A table sent whole into row sums: the rows it changed.
                    for row in 0..<spec.shape[0] {
                        let slice = tensor.values[(row * width)..<((row + 1) * width)]
                        if slice.contains(where: { $0 != 0 }) { table.add(row: Int32(row), slice, weight: weight) }
                    }
                }
                sums[i] = .rows(table)
            case (nil, false), (.whole, _):
                guard
                    case .whole(var values, var rowWeights) = sums[i]
                        ?? .whole(values: [Float](repeating: 0, count: spec.elementCount), rowWeights: nil)
                else { fatalError("unreachable") }
                sums[i] = nil
                if let rows = tensor.rows {
                    var perRow = rowWeights ?? [Double](repeating: 0, count: spec.shape[0])
                    for (k, row) in rows.enumerated() {
                        let start = Int(row) * width
                        for j in 0..<width { values[start + j] += floatWeight * tensor.values[k * width + j] }
                        perRow[Int(row)] += weight
                    }
                    rowWeights = perRow
                } else {
                    for (j, value) in tensor.values.enumerated() { values[j] += floatWeight * value }
                }
                sums[i] = .whole(values: values, rowWeights: rowWeights)
            }
        }
        clients.append(update.client)
        if keepsUpdates { updates.append(update) }
    }

    /// The round's step: `scale` times the weighted mean delta (sum / total examples, or
    /// FedNova's normalised mean, see `Weighting`; with
    /// `rowWise`, each row of a tensor sent as rows divided by the weight of the clients that
    /// sent it instead), each value rounded to 11 significant bits (`roundedStep`). A table
    /// summed by row comes as the rows sent, ascending; every other tensor whole (zeros
    /// where nothing was sent). Nil when no update was folded in. Costs the rows sent.
    public func meanStep(scaledBy scale: Float = 1, rowWise: Bool, rounded: Bool = true) -> SparseWeights? {
        guard totalExamples > 0 else { return nil }
        precondition(!(rowWise && weighting == .normalized), "FedNova's normalised mean is not taken row-wise.")
        // FedAvg: sum n_i delta_i / N. FedNova: sum (n_i / tau_i) delta_i * tau_eff / N, capped.
        let total = weighting.divisor(totals)
        func step(_ sum: Float, _ divisor: Double) -> Float {
            guard divisor > 0 else { return 0 }
            let value = scale * Float(Double(sum) / divisor)
            return rounded ? Self.roundedStep(value) : value
        }
        var tensors: [SparseWeights.Tensor] = []
        for i in layout.tensors.indices {
            let spec = layout.tensors[i]
            switch sums[i] {
            case nil:
                tensors.append(SparseWeights.Tensor(rows: nil, values: [Float](repeating: 0, count: spec.elementCount)))
            case .whole(let values, let rowWeights):
                let width = spec.shape.count == 2 ? spec.shape[1] : 1
                var steps = [Float](repeating: 0, count: values.count)
                for (j, value) in values.enumerated() {
                    let divisor: Double = rowWise ? (rowWeights?[j / width] ?? total) : total
                    steps[j] = step(value, divisor)
                }
                tensors.append(SparseWeights.Tensor(rows: nil, values: steps))
            case .rows(let table):
                var rows: [Int32] = [], steps: [Float] = []
                for slot in table.rows.indices.sorted(by: { table.rows[$0] < table.rows[$1] }) {
                    let divisor = rowWise ? table.weights[slot] : total
                    rows.append(table.rows[slot])
                    for j in 0..<table.width { steps.append(step(table.values[slot * table.width + j], divisor)) }
                }
                tensors.append(SparseWeights.Tensor(rows: rows, values: steps))
            }
        }
        return SparseWeights(layout: layout, tensors: tensors)
    }

    /// A step rounded to nearest at 11 significant bits (the precision of a float16 upload),
    /// whatever its exponent.
    @inline(__always) static func roundedStep(_ step: Float) -> Float {
        guard step.isFinite else { return step }
        return Float(bitPattern: (step.bitPattern &+ 0x1000) & 0xFFFF_E000)
    }

    /// The weighted mean delta as dense weights, not rounded (see `meanStep`): a model-sized
    /// buffer, for strategies that keep state across rounds.
    public func meanDelta(rowWise: Bool) -> Weights? {
        meanStep(rowWise: rowWise, rounded: false)?.densified()
    }

    /// The rows of tensor `index` some update changed, ascending; nil for a tensor summed whole.
    public func rowsSent(tensor index: Int) -> [Int32]? {
        guard case .rows(let table) = sums[index] else { return nil }
        return table.rows.sorted()
    }
}
