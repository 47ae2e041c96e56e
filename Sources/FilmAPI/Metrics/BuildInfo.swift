/// `filmd_build_info{version,swift}`: what is running, as a gauge that is always 1.
enum BuildInfo {
    static let version = "0.1.0"

    /// The Swift compiler that built this binary (major.minor).
    static let swift: String = {
        #if compiler(>=6.5)
        return "6.5+"
        #elseif compiler(>=6.4)
        return "6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }()
}
