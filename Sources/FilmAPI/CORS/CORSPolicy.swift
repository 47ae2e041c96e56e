/// `cors.*` as decisions: which origins may read responses, and what a preflight may ask.
public struct CORSPolicy: Sendable {
    let rules: [OriginRule]
    let allowCredentials: Bool
    /// Lower-cased, for comparison with `Access-Control-Request-Headers`.
    let allowedHeaders: Set<String>
    let allowedHeaderList: String
    let maxAge: Int

    public static let exposedHeaders = "Retry-After, RateLimit, RateLimit-Policy, X-Request-ID, WWW-Authenticate, Location"

    public init(_ settings: CORSSettings) {
        rules = settings.allowedOrigins.compactMap(OriginRule.init)
        allowCredentials = settings.allowCredentials
        allowedHeaders = Set(settings.allowedHeaders.map { $0.lowercased() })
        allowedHeaderList = settings.allowedHeaders.joined(separator: ", ")
        maxAge = settings.maxAgeSeconds
    }

    public var isEnabled: Bool { !rules.isEmpty }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, or nil (not allowed).
    public func allowOrigin(for header: String) -> String? {
        guard let origin = Origin(header), let rule = rules.first(where: { $0.matches(origin) }) else { return nil }
        // "*" is only ever sent without credentials (config validation forbids the mix).
        if case .any = rule, !allowCredentials { return "*" }
        return origin.description
    }

    /// Whether the answer depends on the Origin (anything but a lone "*").
    public var variesByOrigin: Bool { rules.contains { $0 != .any } || allowCredentials }

    /// Whether every header a preflight announces is allowed.
    public func allowsHeaders(_ requested: String?) -> Bool {
        guard let requested else { return true }
        return requested.split(separator: ",").allSatisfy { name in
            let trimmed = name.trimmingWhitespace().lowercased()
            return trimmed.isEmpty || allowedHeaders.contains(trimmed)
        }
    }
}
