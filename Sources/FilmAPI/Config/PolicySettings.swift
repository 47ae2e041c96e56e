/// `rate_limits`: flask-limiter style limit strings (SPEC §2).
struct RateLimitSettings: Sendable, Equatable, Codable {
    var enabled = true
    /// Count and log, never reject.
    var dryRun = false
    /// Applies to every route, with a counter per route.
    var `default` = "200 per day; 50 per hour"
    /// One counter shared by all routes.
    var application = ""
    /// Extra limits of one route, keyed `"METHOD /template"`.
    var routes: [String: String] = ["GET /": "1 per second", "POST /add_film": "1 per second"]
    /// The stricter limit on failed authentication, per client address.
    var authFailures = "10 per minute"
    /// `address` (the client address) or `api_key` (the key id of an authenticated request).
    var keyBy = "address"
    var ipv6PrefixLength = 64
    var maxClients = 100_000
    /// Where the counters live: `memory` (this process) or a Redis URL shared by every node
    /// (`redis://HOST:PORT/DB`, `unix:///PATH`); see `RateLimitStorage`.
    var storage = "memory"
    /// Starts every key filmd writes to Redis, so that several services can share one.
    var storagePrefix = "filmd:"
    /// How long a request waits for Redis before `on_storage_error` decides instead.
    var storageTimeoutMs = 20
    /// When Redis fails or is late: `local` (this node's in-process limiter), `allow` or `deny`.
    var onStorageError = "local"

    enum CodingKeys: String, CodingKey {
        case enabled, `default`, application, routes, storage
        case dryRun = "dry_run"
        case authFailures = "auth_failures"
        case keyBy = "key_by"
        case ipv6PrefixLength = "ipv6_prefix_length"
        case maxClients = "max_clients"
        case storagePrefix = "storage_prefix"
        case storageTimeoutMs = "storage_timeout_ms"
        case onStorageError = "on_storage_error"
    }
}

/// `cors` (SPEC §3): deny by default.
struct CORSSettings: Sendable, Equatable, Codable {
    var allowedOrigins: [String] = []
    var allowCredentials = false
    var allowedHeaders = ["Content-Type", "Authorization", "X-API-Key", "X-Request-ID"]
    var maxAgeSeconds = 600

    enum CodingKeys: String, CodingKey {
        case allowedOrigins = "allowed_origins"
        case allowCredentials = "allow_credentials"
        case allowedHeaders = "allowed_headers"
        case maxAgeSeconds = "max_age_seconds"
    }
}

/// `auth` (SPEC §4).
struct AuthSettings: Sendable, Equatable, Codable {
    /// What a request without a key may do: a role name, or `none`.
    var anonymousRole = "voter"

    enum CodingKeys: String, CodingKey {
        case anonymousRole = "anonymous_role"
    }
}

/// `headers`: the response headers that are a deployment's choice.
struct HeaderSettings: Sendable, Equatable, Codable {
    var crossOriginResourcePolicy = "same-origin"

    enum CodingKeys: String, CodingKey {
        case crossOriginResourcePolicy = "cross_origin_resource_policy"
    }
}

/// `logging`: JSON lines to stdout, or to `file` (reopened on SIGHUP).
public struct LoggingSettings: Sendable, Equatable, Codable {
    public var level = "info"
    public var file: String? = nil

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(level, forKey: .level)
        try container.encode(file, forKey: .file)
    }
}

/// `tls`: native HTTPS when both are set.
struct TLSSettings: Sendable, Equatable, Codable {
    var certificate: String? = nil
    var privateKey: String? = nil

    enum CodingKeys: String, CodingKey {
        case certificate
        case privateKey = "private_key"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(certificate, forKey: .certificate)
        try container.encode(privateKey, forKey: .privateKey)
    }
}
