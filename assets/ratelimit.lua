-- filmd's rate limits in Redis (SPEC §9): every policy of one request decided in one call, on
-- Redis's clock, by the same GCRA as the in-process limiter (Sources/FilmAPI/RateLimit/GCRA.swift).
--
-- KEYS[i]: counter i's key (prefix + policy + client; in a cluster give a request's keys one hash tag).
--          Its value is the counter's theoretical arrival time (TAT), integer µs on Redis's TIME.
-- ARGV:    three per counter, in KEYS order: emission interval µs (window / quota, at least 1),
--          window µs, mode:
--            "take"   decides the request; taken when every deciding counter admits it
--                     (the request's policies);
--            "check"  decides the request; never written (the auth-failure budget, before
--                     a key is tried);
--            "record" does not decide; the record counters are taken together when they all
--                     conform (a failed authentication being counted).
-- Returns  {admitted (1|0), retry-after µs (0 when admitted), recorded (1|0), now µs,
--           then per counter: remaining, reset µs, exceeded (1|0)}.
--          A rejected request takes nothing: a "take" counter that would have admitted it
--          reports its state before it, as RateLimiter.evaluate does. Written keys expire when
--          their bucket is full again (at most one window).
--
-- Lua numbers are doubles: every value here is an integer below 2^53 (µs since 1970 is ~2^51),
-- so sums, differences and the modulo below are exact; stored values are formatted with '%d'.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local count = #KEYS
local interval, window, mode, tat = {}, {}, {}, {}
for i = 1, count do
    interval[i] = tonumber(ARGV[3 * i - 2])
    window[i] = tonumber(ARGV[3 * i - 1])
    mode[i] = ARGV[3 * i]
    if not interval[i] or not window[i] or interval[i] < 1 or window[i] < interval[i]
        or (mode[i] ~= 'take' and mode[i] ~= 'check' and mode[i] ~= 'record') then
        return redis.error_reply('ERR filmd ratelimit: bad arguments for counter ' .. i)
    end
    tat[i] = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
end

-- GCRA.evaluate: conforms, the TAT to store, remaining, reset and wait (µs).
local function evaluate(i)
    local base = math.max(tat[i], now)
    local newTAT = base + interval[i]
    local ahead = newTAT - now
    if ahead <= window[i] then
        local room = window[i] - ahead
        return true, newTAT, (room - room % interval[i]) / interval[i], ahead, 0
    end
    return false, tat[i], 0, base - now, ahead - window[i]
end

local conforms, newTAT, remaining, reset, wait = {}, {}, {}, {}, {}
local admitted, recordable, retry = true, true, 0
for i = 1, count do
    conforms[i], newTAT[i], remaining[i], reset[i], wait[i] = evaluate(i)
    if mode[i] == 'record' then
        recordable = recordable and conforms[i]
    else
        admitted = admitted and conforms[i]
        retry = math.max(retry, wait[i])
    end
end
if admitted then retry = 0 end

local reply = {admitted and 1 or 0, retry, recordable and 1 or 0, now}
for i = 1, count do
    -- Whether counter i's group (deciding or record) went through.
    local group = admitted
    if mode[i] == 'record' then group = recordable end
    if conforms[i] and group and mode[i] ~= 'check' then
        -- PX in whole ms, rounded up: the key outlives its bucket's refill by under a millisecond.
        local ttl = (reset[i] + 999 - (reset[i] + 999) % 1000) / 1000
        redis.call('SET', KEYS[i], string.format('%d', newTAT[i]), 'PX', string.format('%d', ttl))
    end
    local untaken = conforms[i] and not group
    reply[#reply + 1] = untaken and remaining[i] + 1 or remaining[i]
    reply[#reply + 1] = untaken and reset[i] - interval[i] or reset[i]
    reply[#reply + 1] = conforms[i] and 0 or 1
end
return reply
