internal import CLibPQ

/// One caller's queries of a segment, and where their results go. `lockedRow`: the row its
/// queries lock (a vote, an edit, a delete), by which a segment orders its callers.
struct PGPending {
    let queries: [PGQuery]
    var lockedRow: Int64? = nil
    let finish: (Result<[PGResult], any Error>) -> Void
}

extension Array where Element == PGPending {
    /// The callers in the order of the rows they lock (those that lock none first, each group in
    /// arrival order). A segment is one transaction holding its row locks until its commit: two
    /// segments (two nodes, or two loops of one) that lock the same rows in opposite orders
    /// would deadlock, and PostgreSQL would abort one of them after `deadlock_timeout`, failing
    /// every write in it. In one order they only wait for each other.
    func inLockOrder() -> [PGPending] {
        guard count > 1 else { return self }
        return enumerated().sorted { first, second in
            let a = first.element.lockedRow ?? .min, b = second.element.lockedRow ?? .min
            return a != b ? a < b : first.offset < second.offset
        }.map(\.element)
    }
}

/// One pipeline segment sent and waiting for its Sync's answer: the results arrive in the
/// order the queries were sent, `owners[i]` is the pending that sent query `i`.
struct PGSegment {
    let pendings: [PGPending]
    let owners: [Int]
    let sentAt: ContinuousClock.Instant
    /// The query whose results arrive now, and whether one of them arrived.
    var next = 0
    var hasResult = false
    private var results: [[PGResult]]
    private var errors: [(any Error)?]

    init(pendings: [PGPending], owners: [Int], sentAt: ContinuousClock.Instant) {
        self.pendings = pendings
        self.owners = owners
        self.sentAt = sentAt
        results = Array(repeating: [], count: pendings.count)
        errors = Array(repeating: nil, count: pendings.count)
    }

    /// A result of query `next` (taken over: cleared with its `PGResult`, or here).
    mutating func take(_ raw: OpaquePointer) {
        hasResult = true
        guard next < owners.count else { return PQclear(raw) }
        let owner = owners[next]
        if PQresultStatus(raw) == PGRES_PIPELINE_ABORTED {
            PQclear(raw)
            // An earlier query of the segment failed; its transaction, this query included, rolled back.
            errors[owner] = errors[owner] ?? PGConnectionLost(sent: false, reason: "rolled back with its segment")
            return
        }
        do { results[owner].append(try PGResult(raw)) } catch { errors[owner] = error }
    }

    /// Answers every caller: its results, or the segment's failure when any query of it failed
    /// (the segment is one transaction: none of it was committed).
    func settle() {
        let failure = errors.lazy.compactMap { $0 }.first
        for (index, pending) in pendings.enumerated() {
            if let failure { pending.finish(.failure(errors[index] ?? failure)) } else { pending.finish(.success(results[index])) }
        }
    }
}
