import Foundation

/// A serial executor that owns one thread: the store actor runs here so that SQLite commits
/// never block an event loop, and so that no other task can borrow the thread.
final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [ExecutorWork] = []
    private var running: [ExecutorWork] = []
    private var thread: pthread_t?

    init(name: String) {
        // Strongly: the thread runs for the life of the process and keeps its executor. With
        // `unowned`, an executor dropped before its thread first ran (a store that failed to
        // open, in a test) crashed the process when the thread started.
        let thread = Thread { self.run() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// Runs `body` on the executor's thread after the work queued before it. Any thread.
    func execute(_ body: @escaping @Sendable () -> Void) {
        submit(.closure(body))
    }

    func isIsolatingCurrentContext() -> Bool? {
        condition.lock()
        defer { condition.unlock() }
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    func checkIsolated() {
        precondition(isIsolatingCurrentContext() == true, "not on the executor's thread")
    }

    private func submit(_ work: ExecutorWork) {
        condition.lock()
        queue.append(work)
        if queue.count == 1 { condition.signal() }
        condition.unlock()
    }

    /// Runs work in arrival order, taking the whole queue per wake-up.
    private func run() {
        condition.lock()
        thread = pthread_self()
        condition.unlock()
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            swap(&queue, &running)
            condition.unlock()
            for work in running { work.run(on: asUnownedSerialExecutor()) }
            running.removeAll(keepingCapacity: true)
        }
    }
}
