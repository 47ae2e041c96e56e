/// One Redis command as it goes on the wire (RESP: `*N`, then `$len` and the bytes of each
/// argument), written straight into bytes: the per-request arguments (keys of 32 hex digits,
/// decimal numbers) never become `String`s, and hiredis sends the bytes as they are.
struct RedisCommand: Sendable, Equatable {
    private(set) var arguments: [UInt8] = []
    private(set) var count = 0

    init() { arguments.reserveCapacity(512) }

    init(_ words: [String]) {
        self.init()
        for word in words { append(word) }
    }

    mutating func append(_ text: String) {
        append(length: text.utf8.count) { bytes in bytes.append(contentsOf: text.utf8) }
    }

    mutating func append(_ number: Int64) {
        append(length: (number < 0 ? 1 : 0) + Self.digitCount(number.magnitude)) { Self.decimal(number, into: &$0) }
    }

    /// An argument of `length` bytes, written by `write`.
    mutating func append(length: Int, _ write: (inout [UInt8]) -> Void) {
        arguments.append(UInt8(ascii: "$"))
        Self.decimal(Int64(length), into: &arguments)
        arguments.append(13)
        arguments.append(10)
        let start = arguments.count
        write(&arguments)
        assert(arguments.count - start == length, "argument length")
        arguments.append(13)
        arguments.append(10)
        count += 1
    }

    /// Appends `other`'s arguments.
    mutating func append(_ other: RedisCommand) {
        arguments.append(contentsOf: other.arguments)
        count += other.count
    }

    /// `first`'s arguments, then these.
    func after(_ first: RedisCommand) -> RedisCommand {
        var joined = first
        joined.append(self)
        return joined
    }

    /// The whole command: the array header, then the arguments.
    var wire: [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "*")]
        bytes.reserveCapacity(arguments.count + 16)
        Self.decimal(Int64(count), into: &bytes)
        bytes.append(13)
        bytes.append(10)
        bytes.append(contentsOf: arguments)
        return bytes
    }

    /// 16 lowercase hex digits of `value`.
    static func hex(_ value: UInt64, into bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(48, count: 16))
        bytes.withUnsafeMutableBufferPointer { buffer in
            for index in 0..<16 {
                let digit = UInt8((value >> UInt64(60 - 4 * index)) & 15)
                buffer[start + index] = digit < 10 ? 48 + digit : 87 + digit
            }
        }
    }

    /// `value` in decimal, written in place (no intermediate string or array).
    static func decimal(_ value: Int64, into bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        ASCIIText.digits(value.magnitude) { bytes.append($0) }
    }

    private static func digitCount(_ value: UInt64) -> Int {
        var count = 1, rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }
}
