/// Short ASCII texts (header values, log fields) written straight into their bytes: String
/// interpolation and `String(Int)` build the same text piece by piece, at several times the
/// cost, on every request.
enum ASCIIText {
    /// The bytes of `value` in `radix` (2...36, lowercase letters), most significant first.
    /// Right to left on the stack, dividing only by the radix, which is a constant once this
    /// is inlined and so compiles to a multiplication: dividing by a running power of the radix
    /// was a hardware division per step, tens of cycles each (callgrind counts each as one).
    @inline(__always)
    static func digits(_ value: UInt64, radix: UInt64 = 10, _ byte: (UInt8) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { scratch in
            var rest = value, start = scratch.count
            repeat {
                let digit = UInt8(truncatingIfNeeded: rest % radix)
                rest /= radix
                start -= 1
                scratch[start] = digit < 10 ? UInt8(ascii: "0") &+ digit : UInt8(ascii: "a") &+ (digit &- 10)
            } while rest > 0
            for index in start..<scratch.count { byte(scratch[index]) }
        }
    }

    /// A String of at most `capacity` ASCII bytes from `write`: one allocation, none for up to
    /// 15 bytes. Bytes beyond `capacity` are left out.
    static func string(capacity: Int, _ write: (inout Writer) -> Void) -> String {
        // On the stack, then one copy: String(unsafeUninitializedCapacity:) allocates for any
        // capacity over 15 and validates the bytes the slow way.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var writer = Writer(buffer: buffer)
            write(&writer)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<writer.count]), as: UTF8.self)
        }
    }

    struct Writer: ~Copyable {
        fileprivate let buffer: UnsafeMutableBufferPointer<UInt8>
        fileprivate(set) var count = 0

        mutating func append(_ byte: UInt8) {
            guard count < buffer.count else { return }
            buffer[count] = byte
            count += 1
        }

        mutating func append(_ text: String) {
            let copied: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
                let room = min(bytes.count, buffer.count - count)
                _ = UnsafeMutableBufferPointer(rebasing: buffer[count..<(count + room)])
                    .initialize(fromContentsOf: UnsafeBufferPointer(rebasing: bytes[..<room]))
                count += room
            }
            if copied == nil { for byte in text.utf8 { append(byte) } }
        }

        mutating func appendDecimal(_ value: Int) {
            if value < 0 { append(UInt8(ascii: "-")) }
            ASCIIText.digits(UInt64(value.magnitude)) { append($0) }
        }

        @inline(__always)  // so that `radix` is a constant in `digits`
        mutating func append(_ value: UInt64, radix: UInt64) {
            ASCIIText.digits(value, radix: radix) { append($0) }
        }
    }
}
