import Foundation
import Logging
import Synchronization
@testable import FilmAPI

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let nanoseconds = Atomic<Int64>(1_000_000_000)
    private let unix = Atomic<Int64>(1_700_000_000)

    var security: SecurityClock {
        SecurityClock(monotonicNanoseconds: { self.nanoseconds.load(ordering: .relaxed) },
                      unixSeconds: { self.unix.load(ordering: .relaxed) })
    }

    var unixNow: Int64 { unix.load(ordering: .relaxed) }

    func advance(seconds: Int64) {
        nanoseconds.add(seconds * 1_000_000_000, ordering: .relaxed)
        unix.add(seconds, ordering: .relaxed)
    }
}

/// The one harness that builds the application for in-process tests, as the daemon does
/// (`Composition`), over an in-memory store, with keys, a manual clock and a log file kept
/// across the requests of a test.
final class TestApp: Sendable {
    let clock = ManualClock()
    let keys = KeyDirectory()
    let usage = KeyUsage()
    let store: MemoryFilmStore
    let metrics: MetricsRegistry
    let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("filmd-test-\(UUID().uuidString).log").path
    let sink: LogSink
    let app: Application

    /// Limits that never trigger, the default roles: the security layers' own tests.
    static let secured: Config = {
        var config = Config()
        config.rateLimits.default = "1000 per hour"
        config.rateLimits.routes = [:]
        return config
    }()

    /// As the live suites run it: anonymous callers may do anything, no rate limits.
    static let open: Config = {
        var config = Config()
        config.auth.anonymousRole = "admin"
        config.rateLimits.enabled = false
        return config
    }()

    /// `writes` answers the writes in place of `store` (a test double); `store` stays the reader.
    init(_ base: Config = secured, store: MemoryFilmStore = MemoryFilmStore(), writes: (any FilmStore)? = nil,
         metrics: MetricsRegistry = MetricsRegistry(), _ change: (inout Config) -> Void = { _ in }) throws {
        var config = base
        change(&config)
        self.store = store
        self.metrics = metrics
        sink = try LogSink(path: logPath)
        let services = Services(store: writes ?? store, lifecycle: Lifecycle(), sink: sink, level: LogLevelControl(.info),
                                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), metrics: metrics,
                                keys: keys, usage: usage)
        app = Composition.application(config: config, services: services, reader: store,
                                      security: Composition.securityState(config: config, services: services, clock: clock.security))
    }

    deinit {
        sink.flush()
        try? FileManager.default.removeItem(atPath: logPath)  // a test's log is its own: nothing left in /tmp
    }

    /// Adds a key to the directory and returns what a client would send.
    func key(_ role: Role, expiresAt: Int64? = nil, revokedAt: Int64? = nil) -> String {
        let token = APIKeyToken.generate()
        added.value.append(APIKey(id: token.id, name: "test", role: role, digest: SecretDigest(secret: token.secret),
                                  createdAt: clock.unixNow, expiresAt: expiresAt, revokedAt: revokedAt))
        keys.replace(with: added.value)
        return token.text
    }

    private let added = KeysBox()

    func send(_ method: HTTPMethod, _ target: String, headers: [(String, String)] = [], body: String? = nil,
              peer: String = "192.0.2.10") async -> Response {
        var fields = HTTPHeaders(headers)
        if body != nil { fields.add("Content-Type", "application/json") }
        return await app.respond(to: Request(method: method, target: target, headers: fields, body: Array((body ?? "").utf8),
                                             peer: PeerAddress(host: peer, port: 40000)))
    }

    func log() throws -> String {
        sink.flush()
        return try String(contentsOfFile: logPath, encoding: .utf8)
    }

    final class KeysBox: @unchecked Sendable {
        var value: [APIKey] = []
    }
}

extension Response {
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The problem body without its request id, to compare bodies of different requests.
    var problemWithoutRequestID: String {
        text.replacingOccurrences(of: #""request_id":"[^"]*""#, with: "", options: .regularExpression)
    }
}
