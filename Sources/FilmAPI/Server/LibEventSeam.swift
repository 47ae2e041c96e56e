internal import CLibEvent

/// The check that filmd's libevent guard is in effect: libevent's own calls must reach the
/// functions filmd interposes (see `self_check.c`). Without them libevent answers clients
/// with its HTML error pages and lets through what the guard refuses, so the server does not
/// start.
struct LibEventSeam: Sendable {
    /// The interposed functions libevent did not call ours of; empty when the seam holds.
    let bypassed: [String]
    /// libevent's `event_get_version()` and the file its HTTP functions come from.
    let version: String
    let library: String
    /// The probe itself could not run (no loopback socket, or no reply in time).
    let probeFailed: Bool

    var holds: Bool { bypassed.isEmpty && !probeFailed }

    /// Runs the probe: a throwaway server on loopback, a few milliseconds.
    static func check() -> LibEventSeam {
        _ = EventLoop.threadingReady  // libevent's allocator and threading come first
        var check = filmd_seam_check()
        let rc = filmd_seam_self_check(&check)
        let library = withUnsafeBytes(of: check.library) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let bypassed = (0..<filmd_seam_function_count()).filter { check.missed & (1 << $0) != 0 }
            .map { String(cString: filmd_seam_function_name($0)) }
        return LibEventSeam(bypassed: bypassed, version: check.version.map { String(cString: $0) } ?? "unknown",
                            library: library, probeFailed: rc < 0)
    }
}
