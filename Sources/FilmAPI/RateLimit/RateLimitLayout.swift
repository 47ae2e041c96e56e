/// Which counters a request touches. A client's state is one fixed row of counters, decided
/// at start: the default policies once per route template (flask-limiter's per-route
/// defaults), each configured route's own policies, and the application policies once (shared
/// by every route). A client's memory is therefore the same for every client, and known.
struct RateLimitLayout: Sendable {
    /// One counter of the row and the policy that governs it.
    struct Counter: Sendable, Equatable {
        let index: Int
        let policy: Int
        /// What it counts, the same on every node with the same limits and unlike any other
        /// counter's (`d|/films|hour|50/3600`): its name in a shared store.
        let name: String
    }

    /// The counters one request touches, with the `RateLimit-Policy` value they make (the same
    /// for every request of the route, so written once).
    struct CounterSet: Sendable {
        let counters: [Counter]
        let policyHeader: String
        /// Tells the sets apart (sets of one layout differ in their first or last counter).
        let id: Int

        init(_ counters: [Counter], policies: [RateLimitPolicy]) {
            self.counters = counters
            id = counters.isEmpty ? -1 : counters[0].index << 20 | counters[counters.count - 1].index
            policyHeader = counters.map { counter in
                let policy = policies[counter.policy]
                return "\"\(policy.name)\";q=\(policy.quota);w=\(policy.window)"
            }.joined(separator: ", ")
        }
    }

    private(set) var policies: [RateLimitPolicy] = []
    /// Counters per route template: the set for each method, and the one for other methods.
    private var routes: [String: (byMethod: [HTTPMethod: CounterSet], other: CounterSet)] = [:]
    private var unmatched = CounterSet([], policies: [])
    /// The counters of the separate auth-failure row.
    private(set) var authFailures = CounterSet([], policies: [])
    /// Counters per client in the request table.
    private(set) var width = 0
    /// The policy of each counter of the request row, by counter index.
    private(set) var counterPolicies: [Int] = []
    /// `rate_limits.routes` keys that name no route (a typo: worth a warning at start).
    private(set) var unknownRoutes: [String] = []

    init(settings: RateLimitSettings, routes table: [(method: HTTPMethod, template: String)]) {
        var names = Set<String>()
        let defaults = Self.rules(settings.default).map { (Self.unique($0.name, &names), $0) }
        let application = Self.rules(settings.application).map { (Self.unique("app-" + $0.name, &names), $0) }
        let appCounters = application.map { counter(policy: policy($0.0, $0.1), scope: "a") }
        var byTemplate: [String: [(HTTPMethod, [Counter])]] = [:]
        var lists: [String: (byMethod: [HTTPMethod: [Counter]], other: [Counter])] = [:]
        var configured = Set(settings.routes.keys)
        for (method, template) in table {
            byTemplate[template, default: []].append((method, routeCounters(settings, method, template, names, &configured)))
        }
        for (template, methods) in byTemplate {
            let shared = defaults.map { counter(policy: policy($0.0, $0.1), scope: "d|" + template) } + appCounters
            var byMethod: [HTTPMethod: [Counter]] = [:]
            for (method, own) in methods { byMethod[method] = shared + own }
            if byMethod[.HEAD] == nil, let get = byMethod[.GET] { byMethod[.HEAD] = get }
            lists[template] = (byMethod, shared)
        }
        let unmatchedList = defaults.map { counter(policy: policy($0.0, $0.1), scope: "d|_unmatched") } + appCounters
        unknownRoutes = configured.sorted()
        var authNames = Set<String>()
        var authList: [Counter] = []
        for (offset, rule) in Self.rules(settings.authFailures).enumerated() {
            let index = policy(Self.unique("auth-" + rule.name, &authNames), rule)
            authList.append(Counter(index: offset, policy: index, name: Self.name("f", policies[index])))
        }
        // Every policy is known now: write each set's header once.
        let policies = self.policies
        routes = lists.mapValues { ($0.byMethod.mapValues { CounterSet($0, policies: policies) }, CounterSet($0.other, policies: policies)) }
        unmatched = CounterSet(unmatchedList, policies: policies)
        authFailures = CounterSet(authList, policies: policies)
    }

    /// The counters a request of `method` on `template` (nil: no route matched) touches.
    func counters(method: HTTPMethod, template: String?) -> CounterSet {
        guard let template, let route = routes[template] else { return unmatched }
        return route.byMethod[method] ?? route.other
    }

    /// The route's own policies (`rate_limits.routes["GET /"]`), named apart from the defaults.
    private mutating func routeCounters(_ settings: RateLimitSettings, _ method: HTTPMethod, _ template: String,
                                        _ defaultNames: Set<String>, _ configured: inout Set<String>) -> [Counter] {
        let key = "\(method.rawValue) \(template)"
        guard let text = settings.routes[key] else { return [] }
        configured.remove(key)
        var names = Set<String>()
        return Self.rules(text).map { rule in
            let base = defaultNames.contains(rule.name) ? "route-" + rule.name : rule.name
            return counter(policy: policy(Self.unique(base, &names), rule), scope: "r|" + method.rawValue + "|" + template)
        }
    }

    private mutating func counter(policy: Int, scope: String) -> Counter {
        width += 1
        counterPolicies.append(policy)
        return Counter(index: width - 1, policy: policy, name: Self.name(scope, policies[policy]))
    }

    /// A counter's name: its scope and its policy with the quota and window (a changed limit
    /// is a new counter, never an old state read with new numbers).
    private static func name(_ scope: String, _ policy: RateLimitPolicy) -> String {
        "\(scope)|\(policy.name)|\(policy.quota)/\(policy.window)"
    }

    /// The index of the policy with this name and rule, added if new (metrics label by name).
    private mutating func policy(_ name: String, _ rule: RateLimitRule) -> Int {
        if let index = policies.firstIndex(where: { $0.name == name && $0.quota == rule.count && $0.window == rule.window }) {
            return index
        }
        policies.append(RateLimitPolicy(name: name, rule: rule))
        return policies.count - 1
    }

    /// Validated at configuration load; an empty list is no limit.
    private static func rules(_ text: String) -> [RateLimitRule] {
        RateLimitRule.parseList(text) ?? []
    }

    /// `name`, or `name-2`, `name-3`, ... when already taken.
    private static func unique(_ name: String, _ taken: inout Set<String>) -> String {
        var candidate = name
        var suffix = 2
        while taken.contains(candidate) {
            candidate = "\(name)-\(suffix)"
            suffix += 1
        }
        taken.insert(candidate)
        return candidate
    }
}
