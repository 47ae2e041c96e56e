internal import CLibPQ
import Foundation

/// One PostgreSQL connection that waits for every answer: for what runs off the event loop
/// (migrations at start, the `filmd` commands, the key refresher's thread). Not thread-safe:
/// owned by one thread at a time. The loop's own connections are `PGLoopConnection`.
final class PGBlockingConnection {
    private let handle: OpaquePointer
    private(set) var isClosed = false

    init(url: PostgresURL) throws(PGError) {
        guard let connection = PQconnectdb(url.text) else { throw PGError(message: "out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let error = PGError(connection: connection)
            PQfinish(connection)
            throw error
        }
        handle = connection
        // The server's notices (e.g. "relation already exists, skipping") are not filmd's log.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        PQfinish(handle)
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …); nil is NULL.
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = []) throws(PGError) -> PGResult {
        precondition(!isClosed, "a closed connection")
        let raw = PGParameters.withCStrings(parameters) { values in
            PQexecParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        guard let raw else { throw PGError(connection: handle) }
        return try PGResult(raw)
    }

    /// Runs fixed SQL of several statements (schema steps). Never called with input in it.
    func executeScript(_ sql: String) throws(PGError) {
        precondition(!isClosed, "a closed connection")
        guard let raw = PQexec(handle, sql) else { throw PGError(connection: handle) }
        _ = try PGResult(raw)
    }

    /// Runs `body` in one transaction: all of it is committed, or none.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")  // the error being thrown is the one worth reporting
            throw error
        }
    }

    /// Waits up to `milliseconds` for a notification on a channel this connection LISTENs on,
    /// or for `wake` to become readable; returns the notifications that arrived (maybe none).
    /// Throws when the connection is lost.
    func notifications(waitingUpTo milliseconds: Int32, wake: Int32) throws(PGError) -> [String] {
        var fds = [pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        guard fds[0].fd >= 0 else { throw PGError(connection: handle) }
        if poll(&fds, 2, milliseconds) > 0, fds[0].revents != 0 {
            guard PQconsumeInput(handle) == 1 else { throw PGError(connection: handle) }
        }
        var channels: [String] = []
        while let notify = PQnotifies(handle) {
            channels.append(String(cString: notify.pointee.relname))
            PQfreemem(notify)
        }
        return channels
    }
}
