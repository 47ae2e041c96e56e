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
        local now = clock[1] * 1000000 + clock[2]
        local stored = redis.call('MGET', unpack(KEYS))
        local floor, format, call = math.floor, string.format, redis.call
        local function evaluate(first, last, out)
          local all = true
          for i = first, last do
            local interval, window = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
            local tat = tonumber(stored[i]) or 0
            local base = tat > now and tat or now
            local ahead = base + interval - now
            local n = #out
            if ahead <= window then
              stored[i] = base + interval
              out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 1, floor((window - ahead) / interval), ahead, 0
            else
              all = false
              out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 0, 0, base - now, ahead - window
            end
          end
          return all
        end
        local function commit(first, last)
          for i = first, last do
            local tat = stored[i]
            call('SET', KEYS[i], format('%d', tat), 'PX', format('%d', floor((tat - now + 999) / 1000)))
          end
        end
        if na > 0 then
          local out = {2}
          local ok = evaluate(1, na, out)
          if not ok and not dry then return out end
          if ok and mode == 2 then commit(1, na) end
        end
        local out = {0}
        if evaluate(na + 1, #KEYS, out) then commit(na + 1, #KEYS) else out[1] = 1 end
        return out
        """

    /// What `SCRIPT LOAD` answers for `source`: EVALSHA names the script by it.
    static let sha1: String = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }.joined()

    static let evalsha = RedisCommand(["EVALSHA", sha1])
    static let eval = RedisCommand(["EVAL", source])

    /// What a counter set always sends, encoded once per loop: its counters' names, and their
    /// emission intervals and windows in µs (the ARGV tail).
    struct EncodedSet {
        let names: [[UInt8]]
        let timings: RedisCommand

        init(_ set: RateLimitLayout.CounterSet, policies: [RateLimitPolicy]) {
            names = set.counters.map { Array($0.name.utf8) }
            var timings = RedisCommand()
            for counter in set.counters {
                let policy = policies[counter.policy]
                let window = Int64(policy.window) * 1_000_000
                timings.append(max(1, window / Int64(policy.quota)))
                timings.append(window)
            }
            self.timings = timings
        }
    }

    /// The arguments after `EVALSHA sha` (or `EVAL source`): key count, keys, ARGV. The
    /// auth-failure counters go first when a key was sent.
    static func arguments(prefix: String, query: RateLimitQuery, auth: EncodedSet, request: EncodedSet, dryRun: Bool) -> RedisCommand {
        let authNames = query.keySent ? auth.names : []
        var command = RedisCommand()
        command.append(Int64(authNames.count + request.names.count))
        if !authNames.isEmpty { appendKeys(&command, prefix: prefix, client: query.address, names: authNames) }
        appendKeys(&command, prefix: prefix, client: query.client, names: request.names)
        command.append(query.keySent ? (query.keyRefused ? 2 : 1) : 0)
        command.append(Int64(authNames.count))
        command.append(dryRun ? 1 : 0)
        if !authNames.isEmpty { command.append(auth.timings) }
        command.append(request.timings)
        return command
    }

    /// Per name: PREFIX, the client in 32 hex digits, `:`, the counter's name.
    private static func appendKeys(_ command: inout RedisCommand, prefix: String, client: ClientKey, names: [[UInt8]]) {
        var start = Array(prefix.utf8)
        RedisCommand.hex(client.high, into: &start)
        RedisCommand.hex(client.low, into: &start)
        start.append(UInt8(ascii: ":"))
        for name in names {
            command.append(length: start.count + name.count) { bytes in
                bytes.append(contentsOf: start)
                bytes.append(contentsOf: name)
            }
        }
    }

    /// A decoded answer: whose counters the outcomes are of, and each one's outcome.
    struct Answer: Equatable {
        var refusedAuthentication: Bool
        var outcomes: [GCRA.Outcome]
    }

    /// The script's reply for a request with `authCount` and `requestCount` counters; nil when
    /// it is not one the script gives.
    static func answer(_ reply: RedisReply, authCount: Int, requestCount: Int) -> Answer? {
        guard case .integers(let items) = reply, let code = items.first, (0...2).contains(code) else { return nil }
        let expected = code == 2 ? authCount : requestCount
        let numbers = items.dropFirst()
        guard numbers.count == expected * 4 else { return nil }
        let outcomes = stride(from: numbers.startIndex, to: numbers.endIndex, by: 4).map { start in
            GCRA.Outcome(conforms: numbers[start] == 1, newTAT: 0, remaining: Int(numbers[start + 1]),
                         reset: numbers[start + 2] * 1000, wait: numbers[start + 3] * 1000)
        }
        return Answer(refusedAuthentication: code == 2, outcomes: outcomes)
    }

}
