/// The limiter's per-client state, bounded: at most `capacity` tracked clients, each one row of
/// `width` counters (GCRA arrival times, 8 bytes each) plus a 32-byte slot (key, when its row is
/// fully replenished, recency links) and its entry in the hash index. Storage is reserved once
/// at start and pages become resident only as clients arrive, so memory grows with the
/// clients seen and never past the cap. Not thread-safe: the limiter's lock guards every call.
///
/// Eviction never gives an over-limit client a fresh allowance: only a client whose every
/// counter is fully replenished is evicted, and such a row is indistinguishable from a new
/// one, so forgetting it forgets nothing. When the table is full and none of the least
/// recently active clients is replenished, a new client shares the overflow row (row 0)
/// with every other such client until a slot frees up.
struct ClientTable {
    struct Slot {
        var key: ClientKey
        /// The latest arrival time of any counter: from then on the row is as good as new.
        var replenishedAt: Int64
        var newer: Int32
        var older: Int32
    }

    /// The overflow row, shared by the clients that find the table full.
    static let overflow = 0
    /// How many of the least recently active clients one arrival examines for eviction.
    static let scanLimit = 8

    let width: Int
    let capacity: Int
    private var slots: [Slot] = []
    private var counters: [Int64] = []
    private var index: [ClientKey: Int32]
    private var newest: Int32 = -1
    private var oldest: Int32 = -1

    init(width: Int, capacity: Int) {
        self.width = width
        self.capacity = capacity
        index = Dictionary(minimumCapacity: capacity)
        slots.reserveCapacity(capacity + 1)
        counters.reserveCapacity((capacity + 1) * width)
        slots.append(Slot(key: .unknown, replenishedAt: 0, newer: -1, older: -1))
        counters.append(contentsOf: repeatElement(0, count: width))
    }

    /// The bytes one tracked client costs: its slot, its counters, and its share of the hash
    /// index (Swift's dictionary keeps a power of two of buckets, at most 3/4 full, each a
    /// 16-byte key, a 4-byte row number and a bit of occupancy).
    static func bytesPerClient(width: Int, capacity: Int) -> Int {
        var buckets = 1
        while buckets * 3 < capacity * 4 { buckets <<= 1 }
        let index = (buckets * (MemoryLayout<ClientKey>.stride + MemoryLayout<Int32>.stride) + buckets / 8 + capacity - 1) / capacity
        return MemoryLayout<Slot>.stride + width * MemoryLayout<Int64>.stride + index
    }

    /// Clients tracked one by one (the overflow row not counted).
    var count: Int { index.count }

    /// The row of `key`, marked most recently active; a new row when the client is new and
    /// there is room (or a replenished client to evict), else the overflow row.
    mutating func row(for key: ClientKey, now: Int64) -> Int {
        if let found = index[key] {
            moveToNewest(found)
            return Int(found)
        }
        let row: Int32
        if slots.count <= capacity {
            row = Int32(slots.count)
            slots.append(Slot(key: key, replenishedAt: 0, newer: -1, older: -1))
            counters.append(contentsOf: repeatElement(0, count: width))
        } else if let evicted = evictReplenished(now: now) {
            row = evicted
            slots[Int(row)].key = key
            slots[Int(row)].replenishedAt = 0
            let start = Int(row) * width
            for offset in start..<(start + width) { counters[offset] = 0 }
        } else {
            return Self.overflow
        }
        index[key] = row
        link(row)
        return Int(row)
    }

    /// The row of `key` if it is tracked (nothing allocated, recency unchanged).
    func existingRow(for key: ClientKey) -> Int? {
        index[key].map(Int.init)
    }

    func arrival(row: Int, counter: Int) -> Int64 { counters[row * width + counter] }

    mutating func setArrival(_ value: Int64, row: Int, counter: Int) {
        counters[row * width + counter] = value
        slots[row].replenishedAt = max(slots[row].replenishedAt, value)
    }

    /// Examines the least recently active clients; a replenished one is unlinked and its row
    /// returned, the others move to the newest end so the next arrival looks further.
    private mutating func evictReplenished(now: Int64) -> Int32? {
        for _ in 0..<min(Self.scanLimit, count) {
            let candidate = oldest
            guard candidate >= 0 else { return nil }
            if slots[Int(candidate)].replenishedAt <= now {
                unlink(candidate)
                index[slots[Int(candidate)].key] = nil
                return candidate
            }
            moveToNewest(candidate)
        }
        return nil
    }

    private mutating func moveToNewest(_ row: Int32) {
        guard newest != row else { return }
        unlink(row)
        link(row)
    }

    private mutating func link(_ row: Int32) {
        slots[Int(row)].older = newest
        slots[Int(row)].newer = -1
        if newest >= 0 { slots[Int(newest)].newer = row }
        newest = row
        if oldest < 0 { oldest = row }
    }

    private mutating func unlink(_ row: Int32) {
        let slot = slots[Int(row)]
        if slot.newer >= 0 { slots[Int(slot.newer)].older = slot.older } else { newest = slot.older }
        if slot.older >= 0 { slots[Int(slot.older)].newer = slot.newer } else { oldest = slot.newer }
    }
}
