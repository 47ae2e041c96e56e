import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where log lines go: stdout, or a file reopened on SIGHUP (logrotate's `create` mode).
/// Lines are buffered and written in blocks; `flush()` runs at least every 100 ms (a timer on
/// the event loop) and at exit, so a line never waits long and a burst costs few syscalls.
public final class LogSink: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private var descriptor: Int32
    private let path: String?
    private static let blockSize = 16 * 1024

    /// Standard output.
    public init() {
        descriptor = STDOUT_FILENO
        path = nil
        buffer.reserveCapacity(Self.blockSize * 2)
    }

    /// Appends to `path`, creating it (mode 0640).
    public init(path: String) throws {
        self.path = path
        descriptor = try Self.open(path)
        buffer.reserveCapacity(Self.blockSize * 2)
    }

    private static func open(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw LogSinkError(path: path, reason: String(cString: strerror(errno))) }
        return fd
    }

    /// Adds one line (a newline is appended).
    func write(_ line: UnsafeBufferPointer<UInt8>) {
        lock.lock()
        buffer.append(contentsOf: line)
        buffer.append(UInt8(ascii: "\n"))
        let full = buffer.count >= Self.blockSize
        if full { drain() }
        lock.unlock()
    }

    public func flush() {
        lock.lock()
        drain()
        lock.unlock()
    }

    /// Opens the file again under its name, after a rotation moved the old one away.
    func reopen() throws {
        guard let path else { return }
        let fresh = try Self.open(path)
        lock.lock()
        drain()
        let old = descriptor
        descriptor = fresh
        lock.unlock()
        close(old)
    }

    /// Writes the buffer out; the lock is held.
    private func drain() {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                break  // nowhere left to report a failing log; the lines are dropped
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

struct LogSinkError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot open the log file \(path): \(reason)" }
}
