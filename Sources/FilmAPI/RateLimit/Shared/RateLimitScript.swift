import Crypto

/// The one Lua script that decides a batch of requests in Redis (SPEC §9): every request that
/// arrived in one loop turn, in their order, each as if sent alone after the ones before it:
/// every policy at once, all or nothing, GCRA on Redis's own clock (`TIME`, read once, so the
/// nodes' clocks do not matter) in integer microseconds (Lua numbers are doubles: exact to 2^53
/// µs, and formatted with `%d`, never `tostring`). The same rules as `RateLimiter.decide`: with
/// a key sent, a spent auth-failure budget refuses the request and counts nothing (unless dry
/// run); a refused key adds a failure; then the request's counters, counted only when all of
/// them conform. Each distinct key is read once (one MGET) and written once at the end, with
/// its final TAT; it expires when its bucket is full again (at most its window), so Redis
/// holds only the clients active within their windows.
enum RateLimitScript {
    /// KEYS: per request, its auth-failure counters (when a key was sent), then its own.
    /// ARGV: dry run (0/1), then per request: key mode (0 none sent, 1 accepted, 2 refused),
    /// number of auth-failure keys, number of its own keys, then per key its emission interval
    /// and window in µs.
    /// Returns per request {code, then per counter: conforms, remaining, reset µs, wait µs}: code
    /// 0 or 1 (admitted or not) with the request's counters, code 2 with the auth-failure ones.
    static let source = """
        local floor, format, call = math.floor, string.format, redis.call
        local dry = ARGV[1] == '1'
        local clock = call('TIME')
        local now = clock[1] * 1000000 + clock[2]
        local slot, distinct = {}, {}
        for i = 1, #KEYS do
          local key = KEYS[i]
          if not slot[key] then
            distinct[#distinct + 1] = key
            slot[key] = #distinct
          end
        end
        local tat = call('MGET', unpack(distinct))
        for s = 1, #distinct do tat[s] = tonumber(tat[s]) or 0 end
        local changed, out, n, key, arg = {}, {}, 0, 0, 1
        -- The next `count` keys (from KEYS[key + 1], timings from ARGV[arg + 1]): outcomes into
        -- out, the TATs they would set into fresh; true when all conform.
        local function evaluate(count, fresh)
          local all = true
          for j = 1, count do
            local interval, window = tonumber(ARGV[arg + 2 * j - 1]), tonumber(ARGV[arg + 2 * j])
            local stored = tat[slot[KEYS[key + j]]]
            local base = stored > now and stored or now
            local ahead = base + interval - now
            if ahead <= window then
              fresh[j] = base + interval
              out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 1, floor((window - ahead) / interval), ahead, 0
            else
              all = false
              out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 0, 0, base - now, ahead - window
            end
            n = n + 4
          end
          return all
        end
        local function commit(count, fresh)
          for j = 1, count do
            local s = slot[KEYS[key + j]]
            tat[s], changed[s] = fresh[j], true
          end
        end
        local function skip(count) key, arg = key + count, arg + 2 * count end
        while arg < #ARGV do
          local mode, na, nr = tonumber(ARGV[arg + 1]), tonumber(ARGV[arg + 2]), tonumber(ARGV[arg + 3])
          arg = arg + 3
          local start, refused = n + 1, false
          if na > 0 then
            local fresh = {}
            n, out[start] = start, 2
            local ok = evaluate(na, fresh)
            refused = not ok and not dry
            if ok and mode == 2 then commit(na, fresh) end
            if not refused then
              for i = n, start, -1 do out[i] = nil end
              n = start - 1
            end
            skip(na)
          end
          if refused then
            skip(nr)
          else
            local fresh = {}
            n, out[start] = start, 0
            if evaluate(nr, fresh) then commit(nr, fresh) else out[start] = 1 end
            skip(nr)
          end
        end
        for s in pairs(changed) do
          call('SET', distinct[s], format('%d', tat[s]), 'PX', format('%d', floor((tat[s] - now + 999) / 1000)))
        end
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

    /// One request of a batch: its query, its counters and how many auth-failure counters go
    /// before them (all of them when a key was sent, else none).
    struct Request {
        let query: RateLimitQuery
        let counters: EncodedSet
        let authCount: Int

        init(_ query: RateLimitQuery, counters: EncodedSet, auth: EncodedSet) {
            self.query = query
            self.counters = counters
            authCount = query.keySent ? auth.names.count : 0
        }
    }

    /// The arguments after `EVALSHA sha` (or `EVAL source`) for `requests`, in their order: key
    /// count, every request's keys, dry run, every request's ARGV part.
    static func arguments(prefix: String, _ requests: ArraySlice<Request>, auth: EncodedSet, dryRun: Bool) -> RedisCommand {
        var command = RedisCommand()
        command.append(Int64(requests.reduce(0) { $0 + $1.authCount + $1.counters.names.count }))
        var start = Array(prefix.utf8)
        let prefixLength = start.count
        for request in requests {
            if request.authCount > 0 { appendKeys(&command, start: &start, prefixLength, client: request.query.address, names: auth.names) }
            appendKeys(&command, start: &start, prefixLength, client: request.query.client, names: request.counters.names)
        }
        command.append(dryRun ? 1 : 0)
        for request in requests {
            command.append(request.query.keySent ? (request.query.keyRefused ? 2 : 1) : 0)
            command.append(Int64(request.authCount))
            command.append(Int64(request.counters.names.count))
            if request.authCount > 0 { command.append(auth.timings) }
            command.append(request.counters.timings)
        }
        return command
    }

    /// Per name: PREFIX, the client in 32 hex digits, `:`, the counter's name. `start` holds the
    /// prefix (its first `prefixLength` bytes), reused for every client of the batch.
    private static func appendKeys(_ command: inout RedisCommand, start: inout [UInt8], _ prefixLength: Int, client: ClientKey,
                                   names: [[UInt8]]) {
        start.removeLast(start.count - prefixLength)
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

    /// The script's reply for `requests`, one answer each in their order; nil when it is not one
    /// the script gives for them.
    static func answers(_ reply: RedisReply, for requests: ArraySlice<Request>) -> [Answer]? {
        guard case .integers(let items) = reply else { return nil }
        var answers: [Answer] = []
        answers.reserveCapacity(requests.count)
        var index = items.startIndex
        for request in requests {
            guard index < items.endIndex, (0...2).contains(items[index]) else { return nil }
            let refusedAuthentication = items[index] == 2
            let end = index + 1 + 4 * (refusedAuthentication ? request.authCount : request.counters.names.count)
            guard end <= items.endIndex else { return nil }
            let outcomes = stride(from: index + 1, to: end, by: 4).map { start in
                GCRA.Outcome(conforms: items[start] == 1, newTAT: 0, remaining: Int(items[start + 1]),
                             reset: items[start + 2] * 1000, wait: items[start + 3] * 1000)
            }
            answers.append(Answer(refusedAuthentication: refusedAuthentication, outcomes: outcomes))
            index = end
        }
        return index == items.endIndex ? answers : nil
    }
}
