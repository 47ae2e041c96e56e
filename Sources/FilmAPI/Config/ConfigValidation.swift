/// The checks that types alone do not make: ranges, names, limit strings, origins.
enum ConfigValidation {
    static func validate(_ config: Config) throws(ConfigError) {
        try server(config.server)
        try database(config.database)
        try limits(config.limits)
        try rateLimits(config.rateLimits)
        try cors(config.cors)
        try auth(config.auth)
        try logging(config.logging)
        try tls(config.tls)
        let policies = ["same-origin", "same-site", "cross-origin"]
        guard policies.contains(config.headers.crossOriginResourcePolicy) else {
            throw ConfigError(key: "headers.cross_origin_resource_policy", "must be one of \(policies.joined(separator: ", "))")
        }
    }

    private static func range<T: Comparable>(_ value: T, _ allowed: ClosedRange<T>, _ key: String) throws(ConfigError) {
        guard allowed.contains(value) else {
            throw ConfigError(key: key, "must be from \(allowed.lowerBound) to \(allowed.upperBound)")
        }
    }

    private static func server(_ s: ServerSettings) throws(ConfigError) {
        guard !s.host.isEmpty else { throw ConfigError(key: "server.host", "must not be empty") }
        try range(s.port, 0...65535, "server.port")
        try range(s.workers, 1...64, "server.workers")
        try range(s.shutdownGraceSeconds, 0...3600, "server.shutdown_grace_seconds")
        for proxy in s.trustedProxies where AddressRange(proxy) == nil {
            throw ConfigError(key: "server.trusted_proxies", "\"\(proxy)\" is not an IP address or CIDR range")
        }
    }

    private static func database(_ d: DatabaseSettings) throws(ConfigError) {
        guard !d.path.isEmpty else { throw ConfigError(key: "database.path", "must not be empty") }
        if let seed = d.seedCSV, seed.isEmpty { throw ConfigError(key: "database.seed_csv", "must be a path or null") }
        if let url = d.url, PostgresURL(url) == nil {
            throw ConfigError(key: "database.url", "must be a postgres:// or postgresql:// connection URI, or null")
        }
    }

    private static func limits(_ l: LimitSettings) throws(ConfigError) {
        try range(l.maxBodyBytes, 1...(64 << 20), "limits.max_body_bytes")
        try range(l.maxHeaderBytes, 1024...(1 << 20), "limits.max_header_bytes")
        try range(l.maxURIBytes, 64...(64 << 10), "limits.max_uri_bytes")
        try range(l.headerTimeoutSeconds, 0.1...600, "limits.header_timeout_seconds")
        try range(l.requestTimeoutSeconds, 0.1...3600, "limits.request_timeout_seconds")
        try range(l.idleTimeoutSeconds, 1...3600, "limits.idle_timeout_seconds")
        try range(l.maxConnections, 1...1_000_000, "limits.max_connections")
        try range(l.maxConnectionsPerClient, 1...1_000_000, "limits.max_connections_per_client")
    }

    private static func rateLimits(_ r: RateLimitSettings) throws(ConfigError) {
        try limitString(r.default, "rate_limits.default")
        try limitString(r.application, "rate_limits.application")
        try limitString(r.authFailures, "rate_limits.auth_failures")
        for (route, limit) in r.routes.sorted(by: { $0.key < $1.key }) {
            let parts = route.split(separator: " ")
            guard parts.count == 2, HTTPMethod(rawValue: String(parts[0])) != nil, parts[1].hasPrefix("/") else {
                throw ConfigError(key: "rate_limits.routes", "\"\(route)\" is not \"METHOD /path\"")
            }
            try limitString(limit, "rate_limits.routes.\(route)")
        }
        guard ["address", "api_key"].contains(r.keyBy) else {
            throw ConfigError(key: "rate_limits.key_by", "must be address or api_key")
        }
        try range(r.ipv6PrefixLength, 1...128, "rate_limits.ipv6_prefix_length")
        try range(r.maxClients, 1...10_000_000, "rate_limits.max_clients")
        if case .failure(let reason) = RateLimitStorage.parse(r.storage) {
            throw ConfigError(key: "rate_limits.storage", "\"\(r.storage)\" \(reason.text)")
        }
        guard (1...64).contains(r.storagePrefix.utf8.count), r.storagePrefix.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ConfigError(key: "rate_limits.storage_prefix", "must be 1 to 64 printable ASCII characters without spaces")
        }
        try range(r.storageTimeoutMs, 1...10_000, "rate_limits.storage_timeout_ms")
        guard ["local", "allow", "deny"].contains(r.onStorageError) else {
            throw ConfigError(key: "rate_limits.on_storage_error", "must be local, allow or deny")
        }
    }

    private static func limitString(_ text: String, _ key: String) throws(ConfigError) {
        guard RateLimitRule.parseList(text) != nil else {
            throw ConfigError(key: key, "\"\(text)\" is not a rate limit (e.g. \"50 per hour; 10/minute\"; windows up to 100 years)")
        }
    }

    private static func cors(_ c: CORSSettings) throws(ConfigError) {
        for origin in c.allowedOrigins where OriginRule(origin) == nil {
            throw ConfigError(key: "cors.allowed_origins", "\"\(origin)\" is not an origin (scheme://host[:port]) or https://*.domain rule")
        }
        if c.allowCredentials, c.allowedOrigins.contains("*") {
            throw ConfigError(key: "cors.allow_credentials", "cannot be true while allowed_origins contains \"*\"")
        }
        try range(c.maxAgeSeconds, 0...86400, "cors.max_age_seconds")
        for header in c.allowedHeaders where !header.utf8.allSatisfy(HTTPToken.isTokenByte) || header.isEmpty {
            throw ConfigError(key: "cors.allowed_headers", "\"\(header)\" is not a header name")
        }
    }

    private static func auth(_ a: AuthSettings) throws(ConfigError) {
        guard a.anonymousRole == "none" || Role(rawValue: a.anonymousRole) != nil else {
            throw ConfigError(key: "auth.anonymous_role", "must be none, reader, voter, editor or admin")
        }
    }

    private static func logging(_ l: LoggingSettings) throws(ConfigError) {
        guard LogLevelName.parse(l.level) != nil else {
            throw ConfigError(key: "logging.level", "must be trace, debug, info, notice, warning, error or critical")
        }
        if let file = l.file, file.isEmpty { throw ConfigError(key: "logging.file", "must be a path or null") }
    }

    private static func tls(_ t: TLSSettings) throws(ConfigError) {
        guard (t.certificate == nil) == (t.privateKey == nil) else {
            throw ConfigError(key: t.certificate == nil ? "tls.certificate" : "tls.private_key", "tls.certificate and tls.private_key go together")
        }
    }
}
