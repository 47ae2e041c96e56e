internal import CLibPQ
import Logging

/// One PostgreSQL connection driven by an event loop, never blocking it: libpq's asynchronous
/// API in pipeline mode, its socket watched by the loop. The statements are prepared once per
/// connection; everything sent during one turn of the loop goes out as one pipeline segment
/// ending in one Sync, which PostgreSQL runs as one implicit transaction: one commit for the
/// batch (the group commit of the SQLite store, over the wire). Every caller hears of its
/// results only when the Sync's answer arrives, that is after the commit.
///
/// A broken connection fails what it holds (`PGConnectionLost`, saying whether the Sync had
/// been sent, so the outcome is unknown) and connects again after a doubling, capped backoff.
/// A segment without an answer within `timeoutMilliseconds` counts as a broken connection.
/// Made on any thread before its loop runs; used on the loop's thread only.
final class PGLoopConnection: @unchecked Sendable {
    private enum State { case idle, connecting, ready, waiting, closed }

    private let url: PostgresURL
    private let loop: EventLoop
    private let statements: [PGStatement]
    private let timeoutMilliseconds: Int
    private let maxSegmentsInFlight: Int
    private let logger: Logger
    private var state = State.idle
    private var connection: OpaquePointer?
    private var watcher: SocketWatcher?
    private var watchedSocket: Int32 = -1
    private var attemptStarted = ContinuousClock.now
    private var backoffMilliseconds = PGLoopConnection.firstBackoffMilliseconds
    private var retry: LoopEvent?
    private var watchdog: LoopEvent?
    private var unsent: [PGPending] = []
    private var sendScheduled = false
    private var inFlight: [PGSegment] = []

    static let firstBackoffMilliseconds = 50
    static let maxBackoffMilliseconds = 2000

    /// `maxSegmentsInFlight`: 1 for writes, so that what arrives while a commit is under way
    /// waits for it and joins the next one (one commit per round trip, not per write); reads
    /// pipeline freely.
    init(url: PostgresURL, loop: EventLoop, statements: [PGStatement], timeoutMilliseconds: Int, maxSegmentsInFlight: Int,
         logger: Logger) {
        self.url = url
        self.maxSegmentsInFlight = maxSegmentsInFlight
        self.loop = loop
        self.statements = statements
        self.timeoutMilliseconds = timeoutMilliseconds
        self.logger = logger
        loop.execute { self.connect() }
    }

    /// Runs `queries` (in order, in the next segment) and hands their results to `finish`, on
    /// the loop, once the segment's Sync is answered. While connecting, they wait for the
    /// connection (bounded by its deadline); while it is down, `PGConnectionLost` answers at once.
    /// `lockedRow`: the row the queries lock, if any (see `inLockOrder`).
    func run(_ queries: [PGQuery], lockedRow: Int64? = nil, _ finish: @escaping (Result<[PGResult], any Error>) -> Void) {
        guard state == .ready || state == .connecting || state == .idle else {
            finish(.failure(PGConnectionLost(sent: false, reason: "not connected")))
            return
        }
        unsent.append(PGPending(queries: queries, lockedRow: lockedRow, finish: finish))
        scheduleSend()
    }

    /// After everything the loop has ready now: the requests read in this turn share the Sync.
    private func scheduleSend() {
        guard !sendScheduled else { return }
        sendScheduled = true
        loop.execute { self.sendSegment() }
    }

    /// Ends the connection for good; on the loop, or after it stopped.
    func close() {
        state = .closed
        retry = nil
        watchdog = nil
        drop(reason: "closed")
    }

    // MARK: connecting

    private func connect() {
        guard state == .idle || state == .waiting else { return }
        state = .connecting
        attemptStarted = .now
        if watchdog == nil {
            watchdog = LoopEvent.every(milliseconds: 100, on: loop) { [unowned self] in checkDeadlines() }
        }
        guard let started = PQconnectStart(url.text), PQstatus(started) != CONNECTION_BAD else {
            broken(reason: "cannot start connecting")
            return
        }
        connection = started
        PQsetNoticeProcessor(started, { _, _ in }, nil)  // the server's notices are not filmd's log
        _ = PQsetnonblocking(started, 1)
        watch(socket: PQsocket(started)).watchWritable()  // libpq: poll first once the socket is writable
    }

    private func continueConnecting() {
        guard let connection else { return }
        switch PQconnectPoll(connection) {
        case PGRES_POLLING_READING: watch(socket: PQsocket(connection)).watchReadable()
        case PGRES_POLLING_WRITING: watch(socket: PQsocket(connection)).watchWritable()
        case PGRES_POLLING_OK: becomeReady(connection)
        default: broken(reason: PGError(connection: connection).message)
        }
    }

    /// Pipeline mode, then the statements prepared in the first segment (callers' segments may
    /// follow it at once: the server runs them in order).
    private func becomeReady(_ connection: OpaquePointer) {
        guard PQenterPipelineMode(connection) == 1 else { return broken(reason: "pipeline mode refused") }
        state = .ready
        watcher?.watchReadable()
        for statement in statements where PQsendPrepare(connection, statement.name, statement.sql, 0, nil) != 1 {
            return broken(reason: PGError(connection: connection).message)
        }
        guard PQpipelineSync(connection) == 1 else { return broken(reason: PGError(connection: connection).message) }
        inFlight.append(PGSegment(pendings: [PGPending(queries: [], finish: { [unowned self] result in
            if case .failure(let error) = result { return broken(reason: "cannot prepare: \(error)") }
            backoffMilliseconds = Self.firstBackoffMilliseconds
            logger.info("postgres connected", metadata: ["db.connection": .string(url.redacted)])
        })], owners: Array(repeating: 0, count: statements.count), sentAt: .now))
        flush()
        if !unsent.isEmpty { scheduleSend() }  // what arrived while connecting
    }

    // MARK: sending and receiving

    private func sendSegment() {
        sendScheduled = false
        guard state == .ready, let connection, !unsent.isEmpty, inFlight.count < maxSegmentsInFlight else { return }
        let pendings = unsent.inLockOrder()
        unsent.removeAll(keepingCapacity: true)
        var owners: [Int] = []
        for (index, pending) in pendings.enumerated() {
            for query in pending.queries {
                let sent = PGParameters.withCStrings(query.parameters) { values in
                    PQsendQueryPrepared(connection, query.statement, Int32(values.count), values, nil, nil, 0)
                }
                guard sent == 1 else {
                    // No Sync went out for this segment: the server rolls it back, nothing of it was done.
                    pendings.forEach { $0.finish(.failure(PGConnectionLost(sent: false, reason: "send failed"))) }
                    return broken(reason: PGError(connection: connection).message)
                }
                owners.append(index)
            }
        }
        guard PQpipelineSync(connection) == 1 else {
            pendings.forEach { $0.finish(.failure(PGConnectionLost(sent: false, reason: "sync failed"))) }
            return broken(reason: PGError(connection: connection).message)
        }
        inFlight.append(PGSegment(pendings: pendings, owners: owners, sentAt: .now))
        flush()
    }

    private func flush() {
        guard let connection else { return }
        switch PQflush(connection) {
        case 0: break
        case 1: watcher?.watchWritable()
        default: broken(reason: PGError(connection: connection).message)
        }
    }

    private func socketReady(_ readiness: SocketWatcher.Readiness) {
        switch (state, readiness) {
        case (.connecting, _): continueConnecting()
        case (.ready, .writable): flush()
        case (.ready, _): receive()
        default: break
        }
    }

    /// Reads what arrived and settles every segment whose Sync is answered.
    private func receive() {
        guard let connection else { return }
        guard PQconsumeInput(connection) == 1 else { return broken(reason: PGError(connection: connection).message) }
        while PQisBusy(connection) == 0, !inFlight.isEmpty {
            guard let raw = PQgetResult(connection) else {
                // The end of one query's results; a NULL before any result means nothing more is ready.
                guard inFlight[0].hasResult else { break }
                inFlight[0].next += 1
                inFlight[0].hasResult = false
                continue
            }
            if PQresultStatus(raw) == PGRES_PIPELINE_SYNC {
                PQclear(raw)
                inFlight.removeFirst().settle()
                guard state == .ready else { return }  // a callback closed the connection
                if !unsent.isEmpty { scheduleSend() }  // what waited for this segment
                continue
            }
            inFlight[0].take(raw)
        }
        watcher?.watchReadable()
    }

    // MARK: failure

    private func checkDeadlines() {
        let limit = Duration.milliseconds(timeoutMilliseconds)
        switch state {
        case .connecting where ContinuousClock.now - attemptStarted > limit:
            broken(reason: "no connection within \(timeoutMilliseconds) ms")
        case .ready where inFlight.first.map { ContinuousClock.now - $0.sentAt > limit } ?? false:
            broken(reason: "no answer within \(timeoutMilliseconds) ms")
        default: break
        }
    }

    private func broken(reason: String) {
        guard state != .closed, state != .waiting else { return }
        if state == .ready || backoffMilliseconds == Self.firstBackoffMilliseconds {  // the first failure of a series
            logger.warning(state == .ready ? "postgres connection lost" : "postgres connection failed",
                           metadata: ["error": .string(reason), "db.connection": .string(url.redacted)])
        }
        drop(reason: reason)
        state = .waiting
        retry = LoopEvent.after(milliseconds: backoffMilliseconds, on: loop) { [unowned self] in connect() }
        backoffMilliseconds = min(backoffMilliseconds * 2, Self.maxBackoffMilliseconds)
    }

    /// Closes the socket and fails everything held: what had its Sync sent with an unknown outcome.
    private func drop(reason: String) {
        watcher?.cancel()
        watcher = nil
        watchedSocket = -1
        if let connection { PQfinish(connection) }
        connection = nil
        let segments = inFlight, queued = unsent
        inFlight.removeAll()
        unsent.removeAll()
        for segment in segments {
            segment.pendings.forEach { $0.finish(.failure(PGConnectionLost(sent: true, reason: reason))) }
        }
        queued.forEach { $0.finish(.failure(PGConnectionLost(sent: false, reason: reason))) }
    }

    /// The watcher of `socket` (libpq may change sockets while connecting).
    private func watch(socket: Int32) -> SocketWatcher {
        if let watcher, socket == watchedSocket { return watcher }
        watcher?.cancel()
        let made = SocketWatcher(socket: socket, on: loop) { [unowned self] in socketReady($0) }
        watcher = made
        watchedSocket = socket
        return made
    }
}
