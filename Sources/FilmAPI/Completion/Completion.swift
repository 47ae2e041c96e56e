/// Where a completion runs: the event loop the request arrived on, so that its reply is sent
/// from the thread that owns the connection.
protocol CompletionQueue: AnyObject, Sendable {
    /// Runs `body` on the queue's thread, soon. Any thread.
    func execute(_ body: @escaping @Sendable () -> Void)
}

/// The rest of a request after work that finishes later (a write, a network round trip), as
/// a callback instead of a task waiting on a continuation. A continuation resumed from the store's thread goes through Swift's global
/// pool before it reaches the loop (the runtime resumes continuations on the generic executor
/// and hops back after): two thread switches per write, besides the task's own allocation.
/// The store instead calls every completion of a batch that belongs to one loop in a single
/// job on that loop.
struct Completion<Value>: Sendable {
    let queue: any CompletionQueue
    private let body: @Sendable (Result<Value, any Error>) -> Void

    init(on queue: any CompletionQueue, _ body: @escaping @Sendable (Result<Value, any Error>) -> Void) {
        self.queue = queue
        self.body = body
    }

    /// Delivers the result. Call it on `queue`'s thread, exactly once.
    func callAsFunction(_ result: Result<Value, any Error>) {
        body(result)
    }

    /// A completion for an earlier step whose value `transform` turns into this one's; an
    /// error of either goes through as this one's error. Runs where the earlier step completes.
    func map<Earlier>(_ transform: @escaping @Sendable (Earlier) throws -> Value) -> Completion<Earlier> {
        Completion<Earlier>(on: queue) { result in
            self(Result { try transform(result.get()) })
        }
    }

    /// A completion for an earlier step whose value leads to more work: `next` answers this
    /// one (now, or later through it); an error of either goes through as this one's error.
    func then<Earlier>(_ next: @escaping @Sendable (Earlier) throws -> Answer<Value>) -> Completion<Earlier> where Value: Sendable {
        Completion<Earlier>(on: queue) { result in
            do { try next(result.get()).deliver(to: self) } catch { self(.failure(error)) }
        }
    }

    /// Awaits what `start` completes (tests and the async path): the completion runs on the
    /// thread that delivers it.
    static func awaiting(_ start: (Completion<Value>) throws -> Void) async throws -> Value where Value: Sendable {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try start(Completion(on: InlineQueue.shared) { continuation.resume(with: $0) })
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// Runs completions on the thread that delivers them.
final class InlineQueue: CompletionQueue {
    static let shared = InlineQueue()

    func execute(_ body: @escaping @Sendable () -> Void) { body() }
}
