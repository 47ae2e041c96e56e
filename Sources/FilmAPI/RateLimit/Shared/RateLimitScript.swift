import Crypto

/// The one Lua script that decides a request in Redis (SPEC §9): every policy at once, all
/// or nothing, GCRA on Redis's own clock (`TIME`, so the nodes' clocks do not matter) in
/// integer microseconds (Lua numbers are doubles: exact to 2^53 µs, and formatted with
/// `%d`, never `tostring`). The same rules as `RateLimiter.decide`: with a key sent, a spent
/// auth-failure budget refuses the request and counts nothing (unless dry run); a refused key
/// adds a failure; then the request's counters, counted only when all of them conform. Each
/// key expires when its bucket is full again (at most its window), so Redis holds only the
/// clients active within their windows.
enum RateLimitScript {
    /// KEYS: the auth-failure counters (when a key was sent), then the request's.
    /// ARGV: key mode (0 none sent, 1 accepted, 2 refused), number of auth-failure keys,
    /// dry run (0/1), then per key its emission interval and window in µs.
    /// Returns {code, then per counter: conforms, remaining, reset µs, wait µs}: code 0 or 1
    /// (admitted or not) with the request's counters, code 2 with the auth-failure ones.
    static let source = """
        local mode, na, dry = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local function evaluate(first, last)
          local out, tats, all = {}, {}, true
          for i = first, last do
            local interval, window = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
            local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
            local base = math.max(tat, now)
            local ahead = base + interval - now
            if ahead <= window then
              tats[i] = base + interval
              for _, v in ipairs({1, math.floor((window - ahead) / interval), ahead, 0}) do out[#out + 1] = v end
            else
              all = false
              for _, v in ipairs({0, 0, base - now, ahead - window}) do out[#out + 1] = v end
            end
          end
          return all, out, tats
        end
        local function commit(first, last, tats)
          for i = first, last do
            redis.call('SET', KEYS[i], string.format('%d', tats[i]), 'PX', string.format('%d', math.ceil((tats[i] - now) / 1000)))
          end
        end
        if na > 0 then
          local ok, out, tats = evaluate(1, na)
          if not ok and not dry then
            table.insert(out, 1, 2)
            return out
          end
          if ok and mode == 2 then commit(1, na, tats) end
        end
        local ok, out, tats = evaluate(na + 1, #KEYS)
        if ok then commit(na + 1, #KEYS, tats) end
        table.insert(out, 1, ok and 0 or 1)
        return out
        """

    /// What `SCRIPT LOAD` answers for `source`: EVALSHA names the script by it.
    static let sha1: String = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }.joined()

    /// The arguments after `EVALSHA sha` (or `EVAL source`): key count, keys, ARGV.
    static func arguments(prefix: String, query: RateLimitQuery, auth: RateLimitLayout.CounterSet,
                          request: RateLimitLayout.CounterSet, policies: [RateLimitPolicy], dryRun: Bool) -> [String] {
        let authCounters = query.keySent ? auth.counters : []
        let counters = authCounters + request.counters
        var arguments = [String(counters.count)]
        arguments.reserveCapacity(1 + counters.count * 3 + 3)
        let authKey = authCounters.isEmpty ? "" : prefix + hex(query.address) + ":"
        let requestKey = prefix + hex(query.client) + ":"
        for counter in authCounters { arguments.append(authKey + counter.name) }
        for counter in request.counters { arguments.append(requestKey + counter.name) }
        arguments.append(query.keySent ? (query.keyRefused ? "2" : "1") : "0")
        arguments.append(String(authCounters.count))
        arguments.append(dryRun ? "1" : "0")
        for counter in counters {
            let policy = policies[counter.policy]
            let window = Int64(policy.window) * 1_000_000
            arguments.append(String(max(1, window / Int64(policy.quota))))
            arguments.append(String(window))
        }
        return arguments
    }

    /// A decoded answer: whose counters the outcomes are of, and each one's outcome.
    struct Answer: Equatable {
        var refusedAuthentication: Bool
        var outcomes: [GCRA.Outcome]
    }

    /// The script's reply for a request with `authCount` and `requestCount` counters; nil when
    /// it is not one the script gives.
    static func answer(_ reply: RedisReply, authCount: Int, requestCount: Int) -> Answer? {
        guard case .array(let items) = reply, case .integer(let code)? = items.first, (0...2).contains(code) else { return nil }
        let expected = code == 2 ? authCount : requestCount
        var numbers: [Int64] = []
        for item in items.dropFirst() {
            guard case .integer(let number) = item else { return nil }
            numbers.append(number)
        }
        guard numbers.count == expected * 4 else { return nil }
        let outcomes = stride(from: 0, to: numbers.count, by: 4).map { start in
            GCRA.Outcome(conforms: numbers[start] == 1, newTAT: 0, remaining: Int(numbers[start + 1]),
                         reset: numbers[start + 2] * 1000, wait: numbers[start + 3] * 1000)
        }
        return Answer(refusedAuthentication: code == 2, outcomes: outcomes)
    }

    private static func hex(_ key: ClientKey) -> String {
        let high = String(key.high, radix: 16), low = String(key.low, radix: 16)
        return String(repeating: "0", count: 16 - high.count) + high + String(repeating: "0", count: 16 - low.count) + low
    }
}
