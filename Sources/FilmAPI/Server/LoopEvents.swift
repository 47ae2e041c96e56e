internal import CLibEvent
#if canImport(Glibc)
import Glibc
#endif

/// Signals and timers delivered on an event loop's thread, as Swift closures.
final class LoopEvent: @unchecked Sendable {
    private var event: OpaquePointer?
    private let action: () -> Void

    private init(action: @escaping () -> Void) { self.action = action }

    deinit { cancel() }

    /// Calls `action` on the loop each time `signal` arrives (libevent's signal handling, so
    /// the action runs as ordinary loop code, not in a signal handler).
    static func signal(_ number: Int32, on loop: EventLoop, _ action: @escaping () -> Void) -> LoopEvent {
        let box = LoopEvent(action: action)
        box.event = event_new(loop.base, number, Int16(EV_SIGNAL | EV_PERSIST), fire, Unmanaged.passUnretained(box).toOpaque())
        event_add(box.event, nil)
        return box
    }

    /// Calls `action` on the loop every `milliseconds`.
    static func every(milliseconds: Int, on loop: EventLoop, _ action: @escaping () -> Void) -> LoopEvent {
        timer(milliseconds: milliseconds, flags: Int16(EV_PERSIST), on: loop, action)
    }

    /// Calls `action` on the loop once, after `milliseconds`.
    static func after(milliseconds: Int, on loop: EventLoop, _ action: @escaping () -> Void) -> LoopEvent {
        timer(milliseconds: milliseconds, flags: 0, on: loop, action)
    }

    private static func timer(milliseconds: Int, flags: Int16, on loop: EventLoop, _ action: @escaping () -> Void) -> LoopEvent {
        let box = LoopEvent(action: action)
        box.event = event_new(loop.base, -1, flags, fire, Unmanaged.passUnretained(box).toOpaque())
        var interval = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        event_add(box.event, &interval)
        return box
    }

    /// A timer that calls `action` on the loop once per `schedule`; idle until then.
    static func timer(on loop: EventLoop, _ action: @escaping () -> Void) -> LoopEvent {
        let box = LoopEvent(action: action)
        box.event = event_new(loop.base, -1, 0, fire, Unmanaged.passUnretained(box).toOpaque())
        return box
    }

    /// Fires the timer `microseconds` from now, instead of when it was due. Loop thread.
    func schedule(afterMicroseconds microseconds: Int64) {
        let delay = max(0, microseconds)
        var interval = timeval(tv_sec: Int(delay / 1_000_000), tv_usec: Int(delay % 1_000_000))
        event_add(event, &interval)
    }

    func cancel() {
        guard let event else { return }
        event_free(event)
        self.event = nil
    }

    private static let fire: event_callback_fn = { _, _, context in
        Unmanaged<LoopEvent>.fromOpaque(context!).takeUnretainedValue().action()
    }
}
