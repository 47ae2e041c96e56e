/// `cors.*` as decisions: which origins may read responses, and what a preflight may ask.
struct CORSPolicy: Sendable {
    let rules: [OriginRule]
    let allowCredentials: Bool
    /// Lower-cased, for comparison with `Access-Control-Request-Headers`.
    let allowedHeaders: Set<String>
    let allowedHeaderList: String
    let maxAge: Int
    /// The answer for each exact allowed origin, sent as configured (normalised): browsers send
    /// them that way, so most requests find theirs here without parsing.
    private let knownAnswers: [(origin: String, answer: String?)]

    static let exposedHeaders = "Retry-After, RateLimit, RateLimit-Policy, X-Request-ID, WWW-Authenticate, Location"

    init(_ settings: CORSSettings) {
        let rules = settings.allowedOrigins.compactMap(OriginRule.init)
        let allowCredentials = settings.allowCredentials
        self.rules = rules
        self.allowCredentials = allowCredentials
        allowedHeaders = Set(settings.allowedHeaders.map { $0.lowercased() })
        allowedHeaderList = settings.allowedHeaders.joined(separator: ", ")
        maxAge = settings.maxAgeSeconds
        knownAnswers = rules.compactMap { rule in
            guard case .exact(let origin) = rule else { return nil }
            return (origin.description, Self.allowOrigin(for: origin.description, rules: rules, allowCredentials: allowCredentials))
        }
    }

    var isEnabled: Bool { !rules.isEmpty }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, or nil (not allowed).
    func allowOrigin(for header: String) -> String? {
        if let known = knownAnswers.first(where: { $0.origin == header }) { return known.answer }
        return Self.allowOrigin(for: header, rules: rules, allowCredentials: allowCredentials)
    }

    private static func allowOrigin(for header: String, rules: [OriginRule], allowCredentials: Bool) -> String? {
        guard let origin = Origin(header), let rule = rules.first(where: { $0.matches(origin) }) else { return nil }
        // "*" is only ever sent without credentials (config validation forbids the mix).
        if case .any = rule, !allowCredentials { return "*" }
        return origin.description
    }

    /// Whether the answer depends on the Origin (anything but a lone "*").
    var variesByOrigin: Bool { rules.contains { $0 != .any } || allowCredentials }

    /// Whether every header a preflight announces is allowed.
    func allowsHeaders(_ requested: String?) -> Bool {
        guard let requested else { return true }
        return requested.split(separator: ",").allSatisfy { name in
            let trimmed = name.trimmingWhitespace().lowercased()
            return trimmed.isEmpty || allowedHeaders.contains(trimmed)
        }
    }
}
