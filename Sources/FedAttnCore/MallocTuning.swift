#if os(Linux)
    import CMalloc
#endif

/// Settings of the C allocator for long-running servers.
public enum MallocTuning {
    /// Serves every allocation of `bytes` or more straight from the system and gives it back
    /// when freed. glibc's default threshold rises to the largest block ever freed, after
    /// which multi-megabyte payload and decode buffers stay in its arenas, fragmented: for
    /// the coordinator that was 15-30 MB of resident memory never used again. Smaller
    /// (per-connection) buffers keep malloc's fast path.
    public static func returnLargeBlocksToTheSystem(from bytes: Int32 = 1 << 20) {
        #if os(Linux)
            _ = mallopt(M_MMAP_THRESHOLD, bytes)
        #endif
    }

    /// Returns the free pages inside malloc's arenas to the system (`malloc_trim`).
    public static func giveBackFreePages() {
        #if os(Linux)
            _ = malloc_trim(0)
        #endif
    }
}
