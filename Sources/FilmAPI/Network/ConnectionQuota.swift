import Synchronization

/// The open connections each client may hold (SPEC §6): one peer address, an IPv6 peer by its
/// /64, holds at most `perClient`, and never more than half of the global cap, so that no one
/// client can fill it; trusted proxies are exempt (the rate limiter tells their clients apart).
/// Shared by every event loop: connections from one client may land on any of them.
final class ConnectionQuota: Sendable {
    enum Admission: Sendable, Equatable {
        case refused
        /// Admitted without counting (a trusted proxy, or no cap): no release follows.
        case uncounted
        /// Admitted and counted: `release` must follow when the connection closes.
        case counted
    }

    private struct State {
        var limit: Int
        var trusted: ClientAddressResolver
        var open: [ClientKey: Int] = [:]
    }

    private let state: Locked<State>
    private let refusals = Atomic<UInt64>(0)

    init(perClient: Int, maxConnections: Int, trustedProxies: [String]) {
        state = Locked(State(limit: Self.limit(perClient: perClient, maxConnections: maxConnections),
                             trusted: ClientAddressResolver(trustedProxies: trustedProxies)))
    }

    /// A cap of 0 is none. With a global cap, one client gets at most half of it.
    static func limit(perClient: Int, maxConnections: Int) -> Int {
        guard maxConnections > 0 else { return perClient }
        let half = max(1, maxConnections / 2)
        return perClient > 0 ? min(perClient, half) : half
    }

    /// A reloaded configuration; connections open now stay counted under their key.
    func update(perClient: Int, maxConnections: Int, trustedProxies: [String]) {
        let limit = Self.limit(perClient: perClient, maxConnections: maxConnections)
        let trusted = ClientAddressResolver(trustedProxies: trustedProxies)
        state.withLock {
            $0.limit = limit
            $0.trusted = trusted
        }
    }

    /// Connections refused so far (`filmd_connections_refused_total`).
    var refused: UInt64 { refusals.load(ordering: .relaxed) }

    func admit(_ peer: IPAddress) -> Admission {
        let key = ClientKey(address: peer, ipv6Prefix: 64)
        let admission: Admission = state.withLock { state in
            guard state.limit > 0, !state.trusted.isTrusted(peer) else { return .uncounted }
            let open = state.open[key, default: 0]
            guard open < state.limit else { return .refused }
            state.open[key] = open + 1
            return .counted
        }
        if admission == .refused { refusals.wrappingAdd(1, ordering: .relaxed) }
        return admission
    }

    /// A connection that `admit` counted has closed.
    func release(_ peer: IPAddress) {
        let key = ClientKey(address: peer, ipv6Prefix: 64)
        state.withLock { state in
            guard let open = state.open[key] else { return }
            state.open[key] = open > 1 ? open - 1 : nil
        }
    }

    /// The connections counted for `peer` now (for tests).
    func openConnections(of peer: IPAddress) -> Int {
        state.withLock { $0.open[ClientKey(address: peer, ipv6Prefix: 64), default: 0] }
    }
}
