/// A binary min-heap of table rows by a key the row had when it was pushed. The keys of
/// `ClientTable` only grow, so a stored key is a lower bound of the row's current one: the
/// owner compares the top's stored key with the current one and, when it is stale, calls
/// `updateTop` and looks again. Nothing is done on a request; only the top is ever touched.
struct CandidateHeap {
    struct Entry {
        var key: Int64
        var row: Int32
    }

    private var entries: [Entry] = []

    init() {}

    /// Heap order in O(n) (building once, when the table first fills up).
    init(_ entries: [Entry]) {
        self.entries = entries
        for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    var top: Entry? { entries.first }
    var count: Int { entries.count }

    mutating func push(key: Int64, row: Int32) {
        entries.append(Entry(key: key, row: row))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].key < entries[parent].key else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popTop() -> Entry? {
        guard let first = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first
    }

    /// Gives the top a new key, never smaller than its stored one (a key only grows).
    mutating func updateTop(key: Int64) {
        guard !entries.isEmpty else { return }
        entries[0].key = key
        siftDown(0)
    }

    /// The top's row now holds a fresh slot, whose keys are the smallest there are: it stays on top.
    mutating func replaceTopKeyWithMinimum() {
        guard !entries.isEmpty else { return }
        entries[0].key = .min
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            let right = left + 1
            let child = right < entries.count && entries[right].key < entries[left].key ? right : left
            guard entries[child].key < entries[parent].key else { return }
            entries.swapAt(child, parent)
            parent = child
        }
    }
}
