/// The rate-limit requests of one loop turn, decided by one script call (SPEC §9), the way the
/// PostgreSQL store sends one pipeline segment per turn: the first request of a turn schedules
/// the send after everything the loop has ready now, so every request read in this turn
/// joins it. At most `maxRequests` go in one call, so that one script run stays short (more
/// calls are pipelined). The call's deadline is its earliest request's; a late or failed
/// call fails each of its requests. Each request is answered exactly once, on the loop: with
/// its answer, nil for a reply not believed, or the connection's failure.
///
/// Loop-confined, like its connection.
final class ScriptBatch: @unchecked Sendable {
    typealias Outcome = Result<RateLimitScript.Answer?, RedisConnection.Failure>

    private struct Waiting {
        let deadline: Int64
        let done: (Outcome) -> Void
    }

    static let maxRequests = 64

    private let connection: RedisConnection
    private let clock: SecurityClock
    private let prefix: String
    private let auth: RateLimitScript.EncodedSet
    private let dryRun: Bool
    /// This turn's requests, and who waits for each (same index).
    private var requests: [RateLimitScript.Request] = []
    private var waiting: [Waiting] = []

    init(connection: RedisConnection, clock: SecurityClock, prefix: String, auth: RateLimitScript.EncodedSet, dryRun: Bool) {
        self.connection = connection
        self.clock = clock
        self.prefix = prefix
        self.auth = auth
        self.dryRun = dryRun
    }

    /// Decides `request` in this turn's call; `done` runs once, on the loop, by `deadline`.
    func add(_ request: RateLimitScript.Request, deadline: Int64, _ done: @escaping (Outcome) -> Void) {
        requests.append(request)
        waiting.append(Waiting(deadline: deadline, done: done))
        // The turn's first: the send goes after everything the loop has ready now.
        if requests.count == 1 { connection.loop.execute { self.send() } }
    }

    private func send() {
        let turn = requests, waiters = waiting
        requests = []
        waiting = []
        for start in stride(from: 0, to: turn.count, by: Self.maxRequests) {
            let range = start..<min(start + Self.maxRequests, turn.count)
            let call = turn[range], callers = waiters[range]
            let arguments = RateLimitScript.arguments(prefix: prefix, call, auth: auth, dryRun: dryRun)
            run(arguments, deadline: callers.lazy.map(\.deadline).min()!) { reply in
                switch reply {
                case .failure(let failure):
                    for caller in callers { caller.done(.failure(failure)) }
                case .success(let value):
                    let answers = RateLimitScript.answers(value, for: call)
                    for (offset, caller) in callers.enumerated() { caller.done(.success(answers?[offset])) }
                }
            }
        }
    }

    /// EVALSHA; after a Redis restart or SCRIPT FLUSH (NOSCRIPT) once more as EVAL, which loads
    /// the script again, within the same deadline.
    private func run(_ arguments: RedisCommand, deadline: Int64, _ done: @escaping (Result<RedisReply, RedisConnection.Failure>) -> Void) {
        connection.send(arguments.after(RateLimitScript.evalsha), timeout: deadline - clock.monotonicNanoseconds()) { [self] reply in
            guard case .success(.error(let message)) = reply, message.hasPrefix("NOSCRIPT") else { return done(reply) }
            let left = deadline - clock.monotonicNanoseconds()
            guard left > 0 else { return done(.failure(.timeout)) }
            connection.send(arguments.after(RateLimitScript.eval), timeout: left, done)
        }
    }
}
