@testable import FilmAPI

extension Answer {
    /// The value of an answer that is ready (a SQLite or in-memory read), or its error.
    func ready() throws -> Value {
        switch self {
        case .now(let value): return value
        case .later(let start):
            nonisolated(unsafe) var result: Result<Value, any Error>?
            start(Completion(on: InlineQueue.shared) { result = $0 })
            guard let result else { preconditionFailure("the answer was not ready") }
            return try result.get()
        }
    }
}
