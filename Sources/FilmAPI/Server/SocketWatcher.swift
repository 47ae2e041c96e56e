internal import CLibEvent

/// A socket that a client library owns (libpq's), watched on an event loop: `watchReadable`
/// and `watchWritable` each ask for one call of the handler when the socket is ready. Made,
/// used and cancelled on the loop's thread only.
final class SocketWatcher {
    enum Readiness { case readable, writable, timedOut }

    private var readEvent: OpaquePointer?
    private var writeEvent: OpaquePointer?
    private let handler: (Readiness) -> Void

    init(socket: Int32, on loop: EventLoop, _ handler: @escaping (Readiness) -> Void) {
        self.handler = handler
        let context = Unmanaged.passUnretained(self).toOpaque()
        readEvent = event_new(loop.base, socket, Int16(EV_READ), Self.fire, context)
        writeEvent = event_new(loop.base, socket, Int16(EV_WRITE), Self.fire, context)
    }

    deinit { cancel() }

    /// One call once the socket can be read (or `timedOut` after `milliseconds`, when given).
    func watchReadable(timeoutMilliseconds milliseconds: Int? = nil) {
        guard let readEvent else { return }
        if let milliseconds {
            var interval = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
            event_add(readEvent, &interval)
        } else {
            event_add(readEvent, nil)
        }
    }

    /// One call once the socket can take more bytes.
    func watchWritable() {
        if let writeEvent { event_add(writeEvent, nil) }
    }

    /// No more calls; before the socket is closed.
    func cancel() {
        if let readEvent { event_free(readEvent) }
        if let writeEvent { event_free(writeEvent) }
        readEvent = nil
        writeEvent = nil
    }

    private static let fire: event_callback_fn = { _, what, context in
        let watcher = Unmanaged<SocketWatcher>.fromOpaque(context!).takeUnretainedValue()
        if what & Int16(EV_TIMEOUT) != 0 { watcher.handler(.timedOut) }
        else if what & Int16(EV_WRITE) != 0 { watcher.handler(.writable) }
        else { watcher.handler(.readable) }
    }
}
