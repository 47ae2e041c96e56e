/// The whole configuration (SPEC §8). Every key is documented in `config.json`; the defaults
/// here are the built-in layer under it.
public struct Config: Sendable, Equatable, Codable {
    var server = ServerSettings()
    public var database = DatabaseSettings()
    var limits = LimitSettings()
    var rateLimits = RateLimitSettings()
    var cors = CORSSettings()
    var auth = AuthSettings()
    var headers = HeaderSettings()
    public var logging = LoggingSettings()
    var tls = TLSSettings()

    init() {}

    enum CodingKeys: String, CodingKey {
        case server, database, limits, cors, auth, headers, logging, tls
        case rateLimits = "rate_limits"
    }
}

struct ServerSettings: Sendable, Equatable, Codable {
    var host = "127.0.0.1"
    var port = 3000
    /// Event loops, each with its own evhttp server on the shared listening socket.
    var workers = 1
    /// Peers whose `X-Forwarded-For` / `Forwarded` / `X-Request-ID` are believed (addresses or CIDRs).
    var trustedProxies: [String] = []
    /// How long SIGTERM waits for requests in flight.
    var shutdownGraceSeconds = 10.0

    enum CodingKeys: String, CodingKey {
        case host, port, workers
        case trustedProxies = "trusted_proxies"
        case shutdownGraceSeconds = "shutdown_grace_seconds"
    }
}

public struct DatabaseSettings: Sendable, Equatable, Codable {
    public var path = "filmd.db"
    public var durability = Durability.normal
    /// A CSV (`name,studio,year`) loaded at start when the catalogue is empty.
    var seedCSV: String? = nil
    /// A PostgreSQL connection URI: when set, the catalogue and the keys live there and `path`
    /// is unused (SPEC §9). It may hold a password: print it only through `PostgresURL.redacted`.
    public var url: String? = nil

    enum CodingKeys: String, CodingKey {
        case path, durability, url
        case seedCSV = "seed_csv"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(durability, forKey: .durability)
        try container.encode(seedCSV, forKey: .seedCSV)
        try container.encode(url, forKey: .url)
    }
}

struct LimitSettings: Sendable, Equatable, Codable {
    var maxBodyBytes = 16384
    var maxHeaderBytes = 16384
    var maxURIBytes = 4096
    var headerTimeoutSeconds = 10.0
    /// The whole request, head and body, from its first byte (a body that trickles is cut off).
    var requestTimeoutSeconds = 30.0
    var idleTimeoutSeconds = 60
    var maxConnections = 1024
    /// Open connections from one peer address (an IPv6 peer by its /64); trusted proxies exempt.
    var maxConnectionsPerClient = 64

    enum CodingKeys: String, CodingKey {
        case maxBodyBytes = "max_body_bytes"
        case maxHeaderBytes = "max_header_bytes"
        case maxURIBytes = "max_uri_bytes"
        case headerTimeoutSeconds = "header_timeout_seconds"
        case requestTimeoutSeconds = "request_timeout_seconds"
        case maxConnectionsPerClient = "max_connections_per_client"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case maxConnections = "max_connections"
    }
}
