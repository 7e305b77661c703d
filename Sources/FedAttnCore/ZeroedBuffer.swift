#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fixed-size buffer of zeros that costs memory only where it is written: anonymous
/// pages from `mmap`, which the kernel maps on first touch. Training keeps its per-row
/// state (Adam's moments, gradients, row stamps) in these, so a 4M-row table's state costs
/// the rows a silo touches, not the catalogue.
///
/// The elements must be trivial types whose all-zero bit pattern is the value 0.
public final class ZeroedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    /// The first element; valid for `count` elements until the buffer is released.
    public let pointer: UnsafeMutablePointer<Element>
    /// Elements.
    public let count: Int
    private let bytes: Int

    /// Maps `count` zero elements. With `hugePages`, asks for transparent huge pages (see
    /// `adviseHugePages`): for a buffer read at random places, at the price of 2 MiB of
    /// memory wherever a single element is written.
    /// - Precondition: the system has the address space (a failed `mmap` is a trap, as a
    ///   failed allocation is).
    public init(count: Int, hugePages: Bool = false) {
        precondition(count >= 0, "A buffer cannot have \(count) elements.")
        self.count = count
        bytes = max(1, count * MemoryLayout<Element>.stride)
        let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        precondition(raw != MAP_FAILED && raw != nil, "Could not map \(bytes) bytes of zeros.")
        pointer = raw!.bindMemory(to: Element.self, capacity: count)
        if hugePages { adviseHugePages(raw!, bytes: bytes) }
    }

    deinit { munmap(pointer, bytes) }
}

/// Asks the kernel to back `count` bytes at `start` with transparent huge pages (2 MiB on
/// x86-64) where it can: for a large table read at random rows, one TLB entry then covers
/// 16,384 rows of 128 bytes instead of 32. Only the whole pages inside the range are
/// advised; a no-op where the system has no such advice.
public func adviseHugePages(_ start: UnsafeRawPointer, bytes count: Int) {
    #if os(Linux)
        let page = 2 << 20
        let begin = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + count) / page * page
        guard end > begin else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: begin), end - begin, MADV_HUGEPAGE)
    #endif
}
