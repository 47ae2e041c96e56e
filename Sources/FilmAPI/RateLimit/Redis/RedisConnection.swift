internal import CHiredis
import Logging

/// One event loop's connection to Redis (SPEC §9): commands go out pipelined on the loop's
/// own `event_base`, with no thread hop, and each one is answered exactly once — by Redis, or
/// by a failure when its deadline passes or the connection is lost. hiredis 0.14.1 has no
/// command timeouts and no reconnect: both are here. A timeout or a lost connection fails
/// every command in flight at once (replies come in order: those behind a late one are late
/// too), closes the connection and opens the breaker; at the end of its backoff a probe
/// reconnects and sends PING, and its answer closes the breaker again.
///
/// Loop-confined: every method runs on the loop thread, as do the callbacks.
final class RedisConnection: @unchecked Sendable {
    enum Failure: Error, Equatable {
        /// The breaker is open: not tried.
        case unavailable
        case timeout
        case connection
    }

    private struct Pending {
        let deadline: Int64
        let sentAt: Int64
        let done: (Result<RedisReply, Failure>) -> Void
    }

    let address: RateLimitStorage.RedisAddress
    let loop: EventLoop
    private let clock: SecurityClock
    private let probeTimeout: Int64
    private let metrics: RateLimitStorageMetrics
    private let logger: Logger
    private var handle: OpaquePointer?
    private var breaker = RedisBreaker()
    private var pending: [UInt64: Pending] = [:]
    private var nextTag: UInt64 = 1
    private var deadlineTimer: LoopEvent?
    private var armedFor: Int64?
    private var probeTimer: LoopEvent?

    init(address: RateLimitStorage.RedisAddress, loop: EventLoop, clock: SecurityClock, probeTimeoutMilliseconds: Int,
         metrics: RateLimitStorageMetrics, logger: Logger) {
        self.address = address
        self.loop = loop
        self.clock = clock
        probeTimeout = Int64(probeTimeoutMilliseconds) * 1_000_000
        self.metrics = metrics
        self.logger = logger
    }

    /// Connects from the loop thread once the loop runs.
    func start() {
        loop.execute { [self] in
            deadlineTimer = LoopEvent.timer(on: loop) { [unowned self] in deadlinePassed() }
            probeTimer = LoopEvent.timer(on: loop) { [unowned self] in probe() }
            if !connect() { failed(.connection) }
        }
    }

    /// Whether commands go to Redis now (false while the breaker is open: fall back at once).
    var isAvailable: Bool { breaker.isClosed && handle != nil }

    /// Sends one command; `done` runs once, on the loop, within `timeout` nanoseconds.
    func send(_ command: RedisCommand, timeout: Int64, _ done: @escaping (Result<RedisReply, Failure>) -> Void) {
        guard let handle, breaker.isClosed || breaker.state == .probing else { return done(.failure(.unavailable)) }
        let now = clock.monotonicNanoseconds()
        let tag = nextTag
        nextTag &+= 1
        let sent = command.wire.withUnsafeBufferPointer { filmd_redis_command(handle, tag, $0.baseAddress, $0.count) == 0 }
        guard sent else {
            done(.failure(.connection))
            return failed(.connection)
        }
        let deadline = now + timeout
        pending[tag] = Pending(deadline: deadline, sentAt: now, done: done)
        if armedFor.map({ deadline < $0 }) ?? true { arm(at: deadline, now: now) }
    }

    // MARK: the connection's life

    private func connect() -> Bool {
        let owner = Unmanaged.passUnretained(self).toOpaque()
        switch address.endpoint {
        case .tcp(let host, let port):
            handle = filmd_redis_connect(loop.base, host, Int32(port), nil, owner, Self.onReply, Self.onState)
        case .unix(let path):
            handle = filmd_redis_connect(loop.base, nil, 0, path, owner, Self.onReply, Self.onState)
        }
        guard handle != nil else { return false }
        if address.database != 0 {
            send(RedisCommand(["SELECT", String(address.database)]), timeout: probeTimeout) { [unowned self] reply in
                if case .success(.error) = reply { failed(.connection) }
            }
        }
        return true
    }

    private func replied(tag: UInt64, _ reply: RedisReply?) {
        guard let entry = pending.removeValue(forKey: tag) else { return }
        guard let reply else {
            // hiredis is freeing the connection (it answers what is pending with NULL): not ours to close.
            handle = nil
            pending[tag] = entry
            return failed(.connection)
        }
        metrics.roundTrip(nanoseconds: UInt64(max(0, clock.monotonicNanoseconds() - entry.sentAt)))
        entry.done(.success(reply))
    }

    /// The connection is unusable: every command in flight fails, the breaker opens (or its
    /// backoff doubles after a failed probe), and a probe is scheduled.
    private func failed(_ failure: Failure) {
        if let handle {
            self.handle = nil
            filmd_redis_close(handle)
        }
        metrics.storageError(failure == .timeout ? "timeout" : "connection")
        let now = clock.monotonicNanoseconds()
        let (opened, probeAt) = breaker.failed(now: now)
        if opened {
            metrics.breakerOpened()
            logger.warning("rate-limit storage unreachable; deciding by rate_limits.on_storage_error until it answers again", metadata: [
                "ratelimit.storage.error": .string(failure == .timeout ? "timeout" : "connection"),
                "ratelimit.storage.backoff_ms": .stringConvertible(breaker.backoff / 1_000_000)])
        }
        probeTimer?.schedule(afterMicroseconds: (probeAt - now) / 1000)
        let failing = pending
        pending.removeAll()
        armedFor = nil
        for entry in failing.values { entry.done(.failure(failure)) }
    }

    private func probe() {
        guard !breaker.isClosed else { return }
        breaker.probing()
        guard handle != nil || connect() else { return failed(.connection) }
        send(RedisCommand(["PING"]), timeout: probeTimeout) { [unowned self] reply in
            guard case .success(let answer) = reply, answer == .string("PONG"), breaker.succeeded() else { return }
            metrics.breakerClosed()
            logger.notice("rate-limit storage answers again; deciding there")
        }
    }

    // MARK: deadlines

    private func arm(at deadline: Int64, now: Int64) {
        armedFor = deadline
        deadlineTimer?.schedule(afterMicroseconds: (deadline - now + 999) / 1000)
    }

    private func deadlinePassed() {
        armedFor = nil
        let now = clock.monotonicNanoseconds()
        guard let earliest = pending.values.lazy.map(\.deadline).min() else { return }
        if earliest <= now { return failed(.timeout) }
        arm(at: earliest, now: now)
    }

    // MARK: hiredis

    private static let onReply: filmd_redis_reply_fn = { owner, tag, reply in
        Unmanaged<RedisConnection>.fromOpaque(owner!).takeUnretainedValue().replied(tag: tag, reply.map(RedisReply.init))
    }

    private static let onState: filmd_redis_state_fn = { owner, up in
        let connection = Unmanaged<RedisConnection>.fromOpaque(owner!).takeUnretainedValue()
        // Down and not yet known to be (a NULL reply may have said so first): freed by hiredis.
        guard up == 0, connection.handle != nil else { return }
        connection.handle = nil
        connection.failed(.connection)
    }
}
