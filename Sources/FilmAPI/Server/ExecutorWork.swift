/// What the executors of filmd queue: a task's job, or a plain closure from `execute`, which
/// needs no task (and so no allocation of one, nor a hop from one executor to another).
enum ExecutorWork {
    case job(UnownedJob)
    case closure(@Sendable () -> Void)

    /// Runs it on the current thread, which belongs to `executor`.
    func run(on executor: UnownedSerialExecutor) {
        switch self {
        case .job(let job): job.runSynchronously(on: executor)
        case .closure(let body): body()
        }
    }
}
