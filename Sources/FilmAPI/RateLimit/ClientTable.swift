import HeapModule

/// The limiter's per-client state, bounded: at most `capacity` tracked clients, each one row of
/// `width` counters (GCRA arrival times, 8 bytes each), a 32-byte slot (key, when its row is
/// fully replenished, when it is within every limit again), its entry in the hash index and,
/// once the table is full, a 16-byte eviction candidate. Storage is reserved once at start and
/// pages become resident only as clients arrive, so memory grows with the clients seen and
/// never past the cap. Not thread-safe: the limiter's lock guards every call.
///
/// A full table does not lock newcomers out (SPEC §2): a newcomer takes the row of the tracked
/// client that is within its allowance on every counter and has the most left, meaning its row
/// is fully replenished soonest. An over-limit client is never replaced, so eviction never
/// hands it a fresh allowance. Only when every tracked client is over a limit do newcomers
/// share counters: `overflowRows` rows, chosen by a per-process seeded hash of the key, so one
/// client spending its shared row leaves the others' rows alone.
///
/// The hot path (a tracked client's request) is a dictionary lookup and the counter writes;
/// the candidates are kept in two heaps built when the table first fills up and repaired
/// lazily by the arrival of a newcomer (a slot's times only grow, so a stale heap key is a
/// lower bound: fixing it at the top is enough).
struct ClientTable {
    struct Slot {
        var key: ClientKey
        /// The latest arrival time of any counter: from then on the row is as good as new.
        var replenishedAt: Int64
        /// From this instant every counter admits one more request; before it the client is over a limit.
        var limitedUntil: Int64
    }

    /// Rows shared by newcomers while every tracked client is over a limit (rows 0..<overflowRows).
    static let overflowRows = 256

    let width: Int
    let capacity: Int
    /// Per counter: how far ahead of now its arrival time may be and still admit a request (w − T).
    private let leads: [Int64]
    private var slots: [Slot] = []
    private var counters: [Int64] = []
    private var index: [ClientKey: Int32]
    /// Tracked clients within their allowance, by `replenishedAt` (the top has the most left).
    private var withinAllowance = Heap<Candidate>()
    /// Tracked clients over a limit, by `limitedUntil` (the top comes back first).
    private var overLimit = Heap<Candidate>()
    private var candidatesBuilt = false

    /// A row in one of the heaps, ordered by the time it was pushed with.
    struct Candidate: Comparable {
        var key: Int64
        var row: Int32

        static func < (a: Candidate, b: Candidate) -> Bool { a.key < b.key }
    }

    init(width: Int, capacity: Int, leads: [Int64]) {
        precondition(leads.count == width, "one lead per counter")
        self.width = width
        self.capacity = capacity
        self.leads = leads
        index = Dictionary(minimumCapacity: capacity)
        slots.reserveCapacity(Self.overflowRows + capacity)
        counters.reserveCapacity((Self.overflowRows + capacity) * width)
        slots.append(contentsOf: repeatElement(Self.fresh(.unknown), count: Self.overflowRows))
        counters.append(contentsOf: repeatElement(0, count: Self.overflowRows * width))
    }

    /// The bytes one tracked client costs: its slot, its counters, its eviction candidate and
    /// its share of the hash index (Swift's dictionary keeps a power of two of buckets, at most
    /// 3/4 full, each a 16-byte key, a 4-byte row number and a bit of occupancy).
    static func bytesPerClient(width: Int, capacity: Int) -> Int {
        var buckets = 1
        while buckets * 3 < capacity * 4 { buckets <<= 1 }
        let index = (buckets * (MemoryLayout<ClientKey>.stride + MemoryLayout<Int32>.stride) + buckets / 8 + capacity - 1) / capacity
        return MemoryLayout<Slot>.stride + width * MemoryLayout<Int64>.stride + index + MemoryLayout<Candidate>.stride
    }

    /// Clients tracked one by one (the overflow rows not counted).
    var count: Int { index.count }

    func isOverflow(_ row: Int) -> Bool { row < Self.overflowRows }

    /// The row of `key`; for a new client a row of its own while there is room or a client
    /// within its allowance to replace, else its shared overflow row.
    mutating func row(for key: ClientKey, now: Int64) -> Int {
        if let found = index[key] { return Int(found) }
        let row: Int32
        if index.count < capacity {
            row = Int32(slots.count)
            slots.append(Self.fresh(key))
            counters.append(contentsOf: repeatElement(0, count: width))
        } else if let replaced = takeMostLeft(now: now) {
            row = replaced
            index[slots[Int(row)].key] = nil
            slots[Int(row)] = Self.fresh(key)
            let start = Int(row) * width
            for offset in start..<(start + width) { counters[offset] = 0 }
        } else {
            return overflowRow(for: key)
        }
        index[key] = row
        return Int(row)
    }

    /// The row of `key` if it is tracked (nothing allocated).
    func existingRow(for key: ClientKey) -> Int? {
        index[key].map(Int.init)
    }

    /// The overflow row an untracked `key` would share, once the table is full (nil before).
    func sharedRow(for key: ClientKey) -> Int? {
        index.count < capacity ? nil : overflowRow(for: key)
    }

    func arrival(row: Int, counter: Int) -> Int64 { counters[row * width + counter] }

    mutating func setArrival(_ value: Int64, row: Int, counter: Int) {
        counters[row * width + counter] = value
        slots[row].replenishedAt = max(slots[row].replenishedAt, value)
        slots[row].limitedUntil = max(slots[row].limitedUntil, value - leads[counter])
    }

    private static func fresh(_ key: ClientKey) -> Slot {
        Slot(key: key, replenishedAt: .min, limitedUntil: .min)
    }

    private func overflowRow(for key: ClientKey) -> Int {
        Int(UInt(bitPattern: key.hashValue) % UInt(Self.overflowRows))
    }

    /// The row of the client within its allowance with the most left, its entry kept at the
    /// top for the newcomer that takes it; nil when every tracked client is over a limit.
    private mutating func takeMostLeft(now: Int64) -> Int32? {
        if !candidatesBuilt { buildCandidates(now: now) }
        // Clients whose limits have run out are candidates again.
        while let top = overLimit.min, top.key <= now {
            let current = slots[Int(top.row)].limitedUntil
            if current > top.key {
                _ = overLimit.replaceMin(with: Candidate(key: current, row: top.row))
            } else {
                _ = overLimit.popMin()
                withinAllowance.insert(Candidate(key: slots[Int(top.row)].replenishedAt, row: top.row))
            }
        }
        while let top = withinAllowance.min {
            let slot = slots[Int(top.row)]
            if slot.limitedUntil > now {
                _ = withinAllowance.popMin()
                overLimit.insert(Candidate(key: slot.limitedUntil, row: top.row))
            } else if slot.replenishedAt > top.key {
                _ = withinAllowance.replaceMin(with: Candidate(key: slot.replenishedAt, row: top.row))
            } else {
                // The newcomer's fresh slot has the smallest key there is: the entry stays on top.
                _ = withinAllowance.replaceMin(with: Candidate(key: .min, row: top.row))
                return top.row
            }
        }
        return nil
    }

    /// Sorts every tracked client into the two heaps, once: from then on the table stays full.
    private mutating func buildCandidates(now: Int64) {
        var within: [Candidate] = [], over: [Candidate] = []
        within.reserveCapacity(capacity)
        over.reserveCapacity(capacity)
        for row in Self.overflowRows..<slots.count {
            let slot = slots[row]
            if slot.limitedUntil <= now {
                within.append(.init(key: slot.replenishedAt, row: Int32(row)))
            } else {
                over.append(.init(key: slot.limitedUntil, row: Int32(row)))
            }
        }
        withinAllowance = Heap(within)
        overLimit = Heap(over)
        candidatesBuilt = true
    }
}
