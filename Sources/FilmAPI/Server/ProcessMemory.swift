internal import CLibEvent

/// Process-wide memory settings of a running server (their C halves are in `memory.c`).
public enum ProcessMemory {
    /// glibc handed freed heap back with madvise after every group commit, flushing the TLB on
    /// every core: 13 % of the store thread under likes. Up to 16 MiB stays mapped now.
    static func keepFreedHeap() {
        filmd_keep_freed_memory(16 << 20)
    }

    /// Before anything else of the server: runs this program again with a per-thread malloc
    /// cache of 64 chunks per size instead of glibc's 7 (GET /: +4 % req/s, BENCHMARKS.md item 31).
    /// Nothing happens when `GLIBC_TUNABLES` already sets `glibc.malloc.tcache_count`: the
    /// operator's value wins (`glibc.malloc.tcache_count=7` is glibc's default).
    public static func useLargerMallocCache() {
        _ = filmd_exec_with_larger_malloc_cache()
    }

    /// Once serving: ~10 MB of the binary's pages were only ever touched by start-up.
    static func releaseStartupPages() {
        _ = filmd_release_startup_pages()
    }
}
