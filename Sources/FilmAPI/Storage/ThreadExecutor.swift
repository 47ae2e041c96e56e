import Foundation

/// A serial executor that owns one thread: the store actor runs here so that SQLite commits
/// never block an event loop, and so that no other task can borrow the thread.
final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var running: [UnownedJob] = []

    init(name: String) {
        let thread = Thread { [unowned self] in self.run() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        queue.append(job)
        if queue.count == 1 { condition.signal() }
        condition.unlock()
    }

    /// Runs jobs in arrival order, taking the whole queue per wake-up.
    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            swap(&queue, &running)
            condition.unlock()
            for job in running { job.runSynchronously(on: asUnownedSerialExecutor()) }
            running.removeAll(keepingCapacity: true)
        }
    }
}
