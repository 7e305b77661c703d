package import FedAttnSecAgg

/// What a secure round's indicator sum (sum 0) gives once unmasked: the rows trained so far,
/// grown by this round's new ones, and, when the sum carried them, the silos' item counts.
package struct UnmaskedIndicators: Sendable, Equatable {
    /// The rows some silo has trained, this round's new ones included.
    package let known: RowSet
    /// How many of them are new this round.
    package let new: Int
    /// The silos' item counts, when the round's indicator sum carried them (nil otherwise).
    package let counts: SummedCounts?
}

/// The silos' item counts as a secure round's indicator sum gives them (`CountedIndicators`):
/// summed over the silos of the sum, with how many of them shared; never one silo's.
package struct SummedCounts: Sendable, Equatable {
    /// Train rows per item row 0..<V, summed over `summedOver` (row 0 is 0 from honest silos).
    package let counts: [UInt32]
    /// How many of `summedOver` shared: their shared flags' sum.
    package let shared: UInt32
    /// The silos whose masked vectors the sum holds (each shared or declined), by name, sorted.
    package let summedOver: [String]
    /// The training examples they declared at Join, added: what honest counts add up to at most.
    package let declared: Int
}
