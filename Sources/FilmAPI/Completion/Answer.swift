/// How every step of a request finishes — a middleware layer's `enter`, a handler, the chain
/// itself: with a value now, or later through a `Completion` on the request's queue (its
/// event loop). The ready case is just the value (reads, the fast path of GET /); the later
/// case is a start function that hands the work its completion: a write waiting for its
/// commit, a layer waiting for a network round trip. No task and no continuation either way.
enum Answer<Value: Sendable>: Sendable {
    case now(Value)
    /// Starts the work; it calls the completion once, on the completion's queue.
    case later(@Sendable (Completion<Value>) -> Void)

    /// Hands the value to `completion`: at once when it is ready, else when the work ends.
    func deliver(to completion: Completion<Value>) {
        switch self {
        case .now(let value): completion(.success(value))
        case .later(let start): start(completion)
        }
    }

    /// The same answer with its value transformed (where the work completes, for `later`).
    func map<Other>(_ transform: @escaping @Sendable (Value) throws -> Other) rethrows -> Answer<Other> {
        switch self {
        case .now(let value): .now(try transform(value))
        case .later(let start): .later { completion in start(completion.map(transform)) }
        }
    }

    /// Awaits the value where no event loop serves (tests, `respond(to:)`): a later answer
    /// completes on the thread that delivers it.
    func value() async throws -> Value {
        switch self {
        case .now(let value): value
        case .later(let start): try await Completion.awaiting(start)
        }
    }
}

extension Answer {
    /// An answer that is an error: the completion hears of it as soon as the work starts.
    static func failure(_ error: any Error) -> Answer {
        .later { $0(.failure(error)) }
    }

    /// The value read now, or the read's error as a failing answer.
    static func reading(_ read: () throws -> Value) -> Answer {
        do { return .now(try read()) } catch { return .failure(error) }
    }
}
