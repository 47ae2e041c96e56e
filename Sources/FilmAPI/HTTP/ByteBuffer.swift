/// Bytes appended at the cost of a store, for the JSON and log-line writers: an Array checks
/// its uniqueness and capacity on every append, and a request log line made of some forty
/// appends spent most of its time there. Grows by doubling; owns its memory.
struct ByteBuffer: ~Copyable {
    private var storage: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(capacity: Int) {
        storage = .allocate(capacity: max(capacity, 16))
    }

    deinit { storage.deallocate() }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == storage.count { grow(toHold: count + 1) }
        storage[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        if count + bytes.count > storage.count { grow(toHold: count + bytes.count) }
        (storage.baseAddress! + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Lets `write` put up to `maximum` bytes straight after the last one; it returns how many
    /// it wrote. One capacity check for a run of small pieces (a JSON key is five).
    @inline(__always)
    mutating func append(atMost maximum: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        if count + maximum > storage.count { grow(toHold: count + maximum) }
        count += write(storage.baseAddress! + count)
    }

    mutating func append(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil { append(Array(text.utf8)) }
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// The bytes so far, without copying them.
    func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(rebasing: storage[..<count]))
    }

    /// A copy of the bytes so far.
    var array: [UInt8] { withBytes { Array($0) } }

    @inline(never)
    private mutating func grow(toHold needed: Int) {
        var capacity = storage.count * 2
        while capacity < needed { capacity *= 2 }
        let grown = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
        grown.baseAddress!.initialize(from: storage.baseAddress!, count: count)
        storage.deallocate()
        storage = grown
    }
}
