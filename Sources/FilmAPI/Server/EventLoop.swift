internal import CLibEvent
import Foundation

/// One libevent event loop on its own thread, where every evhttp call must be made; also the
/// queue the completions of its requests run on, and a Swift serial executor. Work from other
/// threads is queued under a lock and the loop is woken once per batch.
final class EventLoop: SerialExecutor, @unchecked Sendable {
    let base: OpaquePointer
    private var wakeEvent: OpaquePointer?
    private let lock = NSLock()
    private var queue: [ExecutorWork] = []
    private var running: [ExecutorWork] = []
    private var thread: pthread_t?

    static let threadingReady: Bool = {
        // The allocator first (it must precede every other libevent call); threading must
        // precede event_base_new, or event_active from another thread does not wake the loop.
        filmd_libevent_use_malloc()
        return evthread_use_pthreads() == 0
    }()

    init() throws {
        guard Self.threadingReady, let base = Self.newBase() else { throw ServerError.eventLoop }
        self.base = base
        let context = Unmanaged.passUnretained(self).toOpaque()
        wakeEvent = event_new(base, -1, 0, { _, _, context in
            Unmanaged<EventLoop>.fromOpaque(context!).takeUnretainedValue().runQueuedJobs()
        }, context)
    }

    /// An epoll base that sends its interest changes to the kernel once per loop iteration:
    /// evhttp turns reading and writing on and off several times per request, and without the
    /// changelist each of those is an `epoll_ctl` of its own. (The changelist's known hazard is
    /// an fd `dup`ed and closed between iterations; evhttp does neither.)
    private static func newBase() -> OpaquePointer? {
        guard let config = event_config_new() else { return nil }
        defer { event_config_free(config) }
        event_config_set_flag(config, Int32(EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST.rawValue))
        return event_base_new_with_config(config)
    }

    deinit {
        if let wakeEvent { event_free(wakeEvent) }
        event_base_free(base)
    }

    /// Runs the loop on the calling thread until `stop()`.
    func run() {
        thread = pthread_self()
        event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY)
        runQueuedJobs()
    }

    /// Ends `run()` after the current iteration. Any thread.
    /// Runs the callbacks that are ready now and returns without waiting: a harness that
    /// drives the loop from its own thread (the fuzz target).
    func runOnceWithoutWaiting() {
        event_base_loop(base, EVLOOP_NONBLOCK)
    }

    func stop() {
        execute { [self] in event_base_loopbreak(base) }
    }

    var inLoopThread: Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Runs `body` on the loop thread, soon. Any thread.
    func execute(_ body: @escaping @Sendable () -> Void) {
        submit(.closure(body))
    }

    func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    private func submit(_ work: ExecutorWork) {
        lock.lock()
        queue.append(work)
        let wake = queue.count == 1
        lock.unlock()
        if wake { event_active(wakeEvent, EV_READ, 0) }
    }

    func checkIsolated() {
        precondition(inLoopThread, "not on the event loop thread")
    }

    /// Lets `Task.immediate` isolated to this loop start synchronously on the loop thread.
    func isIsolatingCurrentContext() -> Bool? { inLoopThread }

    private func runQueuedJobs() {
        lock.lock()
        swap(&queue, &running)
        lock.unlock()
        // As a serial executor only, not a task executor: the tasks have no preference, and a
        // mismatch would make every `await` of theirs requeue itself.
        for work in running { work.run(on: asUnownedSerialExecutor()) }
        running.removeAll(keepingCapacity: true)
    }
}

enum ServerError: Error, CustomStringConvertible {
    case eventLoop
    case listen(String)
    case tls(String)

    var description: String {
        switch self {
        case .eventLoop: "cannot create the libevent event loop"
        case .listen(let what): "cannot listen: \(what)"
        case .tls(let what): "cannot set up TLS: \(what)"
        }
    }
}

extension EventLoop: CompletionQueue {}
