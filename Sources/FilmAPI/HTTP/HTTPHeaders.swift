/// An ordered list of header fields with case-insensitive lookup (RFC 9110 §5.1).
struct HTTPHeaders: Sendable, Sequence {
    /// The fields added one by one.
    private(set) var fields: [(name: String, value: String)] = []
    /// Fields added as one block, checked and formatted once (see `HeaderBlock`); they come
    /// after `fields`.
    private(set) var block: HeaderBlock?

    init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    /// The first value of `name`, or nil.
    subscript(name: String) -> String? {
        // By index, lengths first: copying each field out of the array (two retains and
        // releases) cost more than comparing its name.
        let length = name.utf8.count
        for index in fields.indices where fields[index].name.utf8.count == length {
            if fields[index].name.equalsIgnoringASCIICase(name) { return fields[index].value }
        }
        return block?.value(of: name)
    }

    /// Every value of `name`, in order.
    func values(_ name: String) -> [String] {
        filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }

    func contains(_ name: String) -> Bool { self[name] != nil }

    mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Adds the fields of `block`, after any block added before.
    mutating func add(_ block: HeaderBlock) {
        spreadBlock()
        self.block = block
    }

    mutating func reserveCapacity(_ count: Int) { fields.reserveCapacity(count) }

    /// Replaces every field called `name` with one holding `value`.
    mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name, value))
    }

    mutating func remove(_ name: String) {
        // Looked for first: removeAll rebuilds the array even when nothing matches.
        guard self[name] != nil else { return }
        if block?.value(of: name) != nil { spreadBlock() }
        fields.removeAll { $0.name.equalsIgnoringASCIICase(name) }
    }

    /// Turns the block into fields of their own (before one of them is changed).
    private mutating func spreadBlock() {
        guard let block else { return }
        fields.append(contentsOf: block.fields)
        self.block = nil
    }

    func makeIterator() -> Iterator { Iterator(fields: fields, block: block?.fields ?? []) }

    /// The fields, then the block's.
    struct Iterator: IteratorProtocol {
        var fields: IndexingIterator<[(name: String, value: String)]>
        var block: IndexingIterator<[(name: String, value: String)]>

        init(fields: [(name: String, value: String)], block: [(name: String, value: String)]) {
            self.fields = fields.makeIterator()
            self.block = block.makeIterator()
        }

        mutating func next() -> (name: String, value: String)? { fields.next() ?? block.next() }
    }
}

extension String {
    /// ASCII case-insensitive equality, without allocating lowercased copies. On contiguous
    /// bytes: a header lookup runs this against every field of a request.
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        let onBytes = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in Self.equalIgnoringASCIICase(a, b) }
        }
        if let onBytes, let equal = onBytes { return equal }
        return utf8.elementsEqual(other.utf8) { Self.equalIgnoringASCIICase($0, $1) }
    }

    private static func equalIgnoringASCIICase(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for index in 0..<a.count where !equalIgnoringASCIICase(a[index], b[index]) { return false }
        return true
    }

    @inline(__always)
    private static func equalIgnoringASCIICase(_ x: UInt8, _ y: UInt8) -> Bool {
        if x == y { return true }
        let lower = x | 0x20
        return lower == y | 0x20 && lower >= 0x61 && lower <= 0x7A
    }
}
