import Synchronization

/// Request ids: a random per-process prefix and a counter, `[A-Za-z0-9._-]` only. Unique per
/// process start without a syscall per request; not secret, not meant to be.
final class RequestIDs: Sendable {
    /// The random part and the dash.
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    init() {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        prefix = String((0..<10).map { _ in alphabet.randomElement()! }) + "-"
    }

    func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return ASCIIText.string(capacity: prefix.utf8.count + 13) { id in
            id.append(prefix)
            id.append(value, radix: 36)
        }
    }

    /// Whether an inbound `X-Request-ID` may be kept (from a trusted proxy only).
    static func isWellFormed(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            HTTPToken.isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}
