import Foundation

/// A serial executor that owns one thread: the store actor runs here so that SQLite commits
/// never block an event loop, and so that no other task can borrow the thread.
final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [ExecutorWork] = []
    private var running: [ExecutorWork] = []
    private var thread: pthread_t?
    private var closing = false
    private var last: (@Sendable () -> Void)?
    private var ended = false

    init(name: String) {
        // Strongly: the thread runs until `close()` and keeps its executor. With `unowned`, an
        // executor dropped before its thread first ran (a store that failed to open, in a
        // test) crashed the process when the thread started.
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

    /// Runs the work queued so far (and what it queues in turn), then `last`, on the executor's
    /// thread, and ends the thread; returns once it has ended. Work queued from elsewhere after
    /// this is a bug (it would never run). Not from the executor's own thread.
    func close(last: @escaping @Sendable () -> Void = {}) {
        precondition(isIsolatingCurrentContext() != true, "an executor cannot close itself")
        condition.lock()
        if !closing {
            self.last = last
            closing = true
            condition.broadcast()  // the thread, not another closer, must wake
        }
        while !ended { condition.wait() }
        condition.unlock()
    }

    private func submit(_ work: ExecutorWork) {
        condition.lock()
        assert(!closing || thread.map { pthread_equal($0, pthread_self()) != 0 } == true, "work queued on a closed executor")
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
            while queue.isEmpty && !closing { condition.wait() }
            if queue.isEmpty {  // closing, and everything queued has run
                let last = self.last
                condition.unlock()
                last?()
                condition.lock()
                ended = true
                condition.broadcast()
                condition.unlock()
                return
            }
            swap(&queue, &running)
            condition.unlock()
            for work in running { work.run(on: asUnownedSerialExecutor()) }
            running.removeAll(keepingCapacity: true)
        }
    }
}
