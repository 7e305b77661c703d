import FedAttnCore

/// The item-table rows training has touched, kept by the worker that owns them: row r
/// belongs to worker r % workers, which lists it, steps it and keeps its state, so workers
/// never write the same row or the same list. A row gets a slot the first time a batch
/// reads it (owner t's k-th row has slot k * workers + t, so the rows in use are numbered
/// compactly): Adam's moments and the row's original values (the FedProx anchor, and what
/// a delta is taken from) are kept by slot. For the current batch each
/// owner lists its rows once and gives every example position the batch-local index of its
/// rows, where their gradient rows go. Its cost grows with the rows touched; the one
/// table-sized part, row to slot, is a `ZeroedBuffer`.
final class TouchedRows {
    /// Which worker owns a row.
    let ownership: RowOwnership
    /// Floats in a row.
    let width: Int
    let historyLength: Int
    let workers: Int
    /// The most rows one owner lists in one batch; owner t's batch-local indices start at
    /// t * batchCapacity.
    let batchCapacity: Int
    /// 1 + each row's slot; 0: never touched.
    fileprivate let slotOfRow: ZeroedBuffer<Int32>
    /// By slot: each touched row as it was when first touched, `width` floats.
    let originals: ZeroedBuffer<Float>
    private(set) var owners: [Owner]

    /// What one worker keeps of the rows it owns.
    final class Owner {
        let index: Int
        /// Its rows in the order first touched, and their slots (its k-th row has slot
        /// k * workers + index).
        private(set) var rows: [Int32] = []
        private(set) var slots: [Int32] = []
        /// This batch's rows, each once, and their slots.
        var batch: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: batchRows, count: batchCount) }
        var batchSlots: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: batchRowSlots, count: batchCount) }
        private let batchRows: UnsafeMutablePointer<Int32>, batchRowSlots: UnsafeMutablePointer<Int32>
        private var batchCount = 0
        /// By batch position, the batch-local index of the candidate and of each history
        /// item (`historyLength` a position), where this owner owns the row; other entries
        /// are stale and not read.
        let candidateLocal: UnsafeMutablePointer<Int32>
        let historyLocal: UnsafeMutablePointer<Int32>
        /// By k: the batch number that last listed the row, and its index in that batch.
        private let stampOfK: ZeroedBuffer<UInt32>
        private let localOfK: ZeroedBuffer<Int32>
        private let positions: Int, historyLength: Int

        init(index: Int, positions: Int, historyLength: Int, rowCapacity: Int) {
            self.index = index
            self.positions = positions
            self.historyLength = historyLength
            candidateLocal = .allocate(capacity: positions)
            historyLocal = .allocate(capacity: max(1, positions * historyLength))
            batchRows = .allocate(capacity: positions * (1 + historyLength))
            batchRowSlots = .allocate(capacity: positions * (1 + historyLength))
            stampOfK = ZeroedBuffer(count: rowCapacity)
            localOfK = ZeroedBuffer(count: rowCapacity)
        }

        deinit {
            candidateLocal.deallocate()
            historyLocal.deallocate()
            batchRows.deallocate()
            batchRowSlots.deallocate()
        }

        /// Lists the owned rows among examples `indices` (a batch), as the kernel reads them.
        func collect(
            _ indices: UnsafeBufferPointer<Int32>, _ columns: ExampleColumns, table: UnsafePointer<Float>, batchNumber: UInt32,
            in touched: TouchedRows
        ) {
            batchCount = 0
            let base = Int32(index * touched.batchCapacity)
            for (j, example) in indices.enumerated() {
                let i = Int(example)
                let candidate = columns.candidates[i]
                if touched.ownership.owner(of: candidate) == index {
                    candidateLocal[j] = base + local(candidate, table, batchNumber, touched)
                }
                let end = Int(columns.historyEnds[i])
                let start = end - min(end - Int(columns.historyStarts[i]), historyLength)
                for k in start..<end {
                    let row = columns.historyItems[k]
                    guard touched.ownership.owner(of: row) == index else { continue }
                    historyLocal[j * historyLength + k - start] = base + local(row, table, batchNumber, touched)
                }
            }
        }

        /// `row`'s index among this owner's batch rows, listing it (and giving it a slot) if new.
        @inline(__always) private func local(
            _ row: Int32, _ table: UnsafePointer<Float>, _ batchNumber: UInt32, _ touched: TouchedRows
        ) -> Int32 {
            let r = Int(row), workers = touched.workers, width = touched.width
            let stored = Int(touched.slotOfRow.pointer[r])
            let k: Int
            if stored == 0 {
                k = rows.count
                let slot = k * workers + index
                rows.append(row)
                slots.append(Int32(slot))
                (touched.originals.pointer + slot * width).update(from: table + r * width, count: width)
                touched.slotOfRow.pointer[r] = Int32(slot + 1)
            } else {
                k = (stored - 1 - index) / workers
            }
            if stampOfK.pointer[k] != batchNumber {
                stampOfK.pointer[k] = batchNumber
                localOfK.pointer[k] = Int32(batchCount)
                batchRows[batchCount] = row
                batchRowSlots[batchCount] = Int32(k * workers + index)
                batchCount += 1
            }
            return localOfK.pointer[k]
        }
    }

    init(rowCount: Int, width: Int, historyLength: Int, workers: Int, batchSize: Int) {
        self.width = width
        self.historyLength = historyLength
        self.workers = workers
        ownership = RowOwnership(workers: workers)
        batchCapacity = batchSize * (1 + historyLength)
        // Read at a random place for every row an example names: huge pages spare a TLB
        // miss each (16 MB resident at 4M rows).
        slotOfRow = ZeroedBuffer(count: rowCount, hugePages: true)
        let rowCapacity = (rowCount + workers - 1) / workers
        owners = (0..<workers).map { Owner(index: $0, positions: batchSize, historyLength: historyLength, rowCapacity: rowCapacity) }
        originals = ZeroedBuffer(count: rowCapacity * workers * width)  // slotCapacity rows
    }

    /// Counts batches, so that an owner knows which rows it has listed for this one.
    private(set) var batchNumber: UInt32 = 0

    /// Starts a batch: every owner's lists start empty.
    func beginBatch() -> UInt32 {
        batchNumber += 1
        return batchNumber
    }

    /// Slots there can be: every row, rounded up to whole rounds of owners.
    var slotCapacity: Int { (slotOfRow.count + workers - 1) / workers * workers }
}

/// Row r belongs to worker r % workers; with a power-of-two count that is a mask, not a
/// division (one per row an example names, in the hot loop).
struct RowOwnership {
    let workers: Int
    private let mask: Int

    init(workers: Int) {
        self.workers = workers
        mask = workers & (workers - 1) == 0 ? workers - 1 : -1
    }

    @inline(__always) func owner(of row: Int32) -> Int { mask >= 0 ? Int(row) & mask : Int(row) % workers }
}
