import Synchronization

/// Liveness and readiness (SPEC §1.2).
struct HealthController: Sendable {
    let store: any FilmStore
    let lifecycle: Lifecycle

    init(store: any FilmStore, lifecycle: Lifecycle) {
        self.store = store
        self.lifecycle = lifecycle
    }

    /// `GET /healthz`: 200 while the process serves.
    func live(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        .now(.json(Array(#"{"status":"ok"}"#.utf8)))
    }

    /// `GET /readyz`: 200 when the database answers and the server is not draining.
    func ready(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        guard !lifecycle.isDraining else { throw Problem.unavailable("The server is shutting down.") }
        return .later { [store] completion in
            store.isHealthy(completion: completion.map { healthy in
                guard healthy else { throw Problem.unavailable("The catalogue does not answer.") }
                return .json(Array(#"{"status":"ready"}"#.utf8))
            })
        }
    }
}

/// The process's state as the health checks and the shutdown see it.
final class Lifecycle: Sendable {
    private let draining = Atomic<Bool>(false)

    init() {}

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    func beginDraining() { draining.store(true, ordering: .relaxed) }
}
