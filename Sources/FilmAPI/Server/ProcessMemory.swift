internal import CLibEvent

/// Process-wide memory settings of a running server (their C halves are in `memory.c`).
enum ProcessMemory {
    /// glibc handed freed heap back with madvise after every group commit, flushing the TLB on
    /// every core: 13 % of the store thread under likes. Up to 16 MiB stays mapped now.
    static func keepFreedHeap() {
        filmd_keep_freed_memory(16 << 20)
    }

    /// Once serving: ~10 MB of the binary's pages were only ever touched by start-up.
    static func releaseStartupPages() {
        _ = filmd_release_startup_pages()
    }
}
