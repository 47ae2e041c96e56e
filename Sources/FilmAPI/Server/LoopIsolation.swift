/// An actor whose executor is an event loop. A request's task is isolated to it, so every
/// `nonisolated(nonsending)` function of the chain runs on the loop thread and each return
/// from one finds the task already on its executor. A task executor preference gives the same
/// placement, but then each of those ~30 returns per request takes the task's status lock to
/// read the preference: 4–6 % of GET / in a profile. (`Task.immediate` records a preference
/// even when given none, so it costs the same.)
actor LoopIsolation {
    let loop: EventLoop

    init(loop: EventLoop) { self.loop = loop }

    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    /// Answers a request with `respond` in a task isolated to the loop. The task is queued on
    /// the loop and runs in this same loop iteration, after the callbacks libevent is running now.
    func answer(with respond: @escaping @Sendable () async -> Response,
                then reply: @escaping @Sendable (isolated LoopIsolation, Response) -> Void) {
        Task {
            let response = await respond()
            reply(self, response)
        }
    }
}
