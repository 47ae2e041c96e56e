"""assets/ratelimit.lua (issue 15's Redis rate limits) against a real redis-server started here, through
SCRIPT LOAD and EVALSHA as filmd will call it. Expected numbers come from the GCRA formula of
Sources/FilmAPI/RateLimit/GCRA.swift, worked out from the `now` (µs on Redis's TIME) the script returns:
Redis's clock cannot be stopped, so every limit here is minutes long and calls are milliseconds apart.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from redis_service import RedisError, RedisService

SCRIPT = (Path(__file__).resolve().parents[2] / "assets" / "ratelimit.lua").read_text()
MINUTE = 60_000_000  # µs
HOUR = 60 * MINUTE


@pytest.fixture(scope="module")
def redis():
    service = RedisService().start()
    yield service
    service.remove()


@pytest.fixture
def sha(redis):
    return redis.command("SCRIPT", "LOAD", SCRIPT)


@pytest.fixture
def conn(redis):
    connection = redis.connect()
    yield connection
    connection.close()


@pytest.fixture
def key(request):
    """A key prefix of this test's own, so tests sharing the server never share counters."""
    return lambda name: f"filmd:test:{request.node.name}:{name}"


def policy(quota: int, window: int, mode: str = "take") -> tuple[int, int, str]:
    return (window // quota, window, mode)


class Reply:
    """The script's flat array: admitted, retry-after µs, recorded, now µs, then per counter
    remaining, reset µs, exceeded."""

    def __init__(self, raw):
        assert not isinstance(raw, RedisError), raw
        self.admitted, self.retry, self.recorded, self.now = raw[0] == 1, raw[1], raw[2] == 1, raw[3]
        rest = raw[4:]
        self.counters = [tuple(rest[i:i + 3]) for i in range(0, len(rest), 3)]


def call(conn, sha, counters: dict[str, tuple[int, int, str]]) -> Reply:
    args = [a for spec in counters.values() for a in spec]
    return Reply(conn.command("EVALSHA", sha, len(counters), *counters, *args))


def redis_now(conn) -> int:
    """Redis's clock in µs, as the script reads it."""
    return conn.command("EVAL", "local t = redis.call('TIME') return t[1] * 1000000 + t[2]", 0)


def test_five_a_minute_admits_five_then_rejects_with_the_wait(conn, sha, key):
    counters = {key("minute"): policy(5, MINUTE)}
    interval = MINUTE // 5
    first = call(conn, sha, counters)
    replies = [first] + [call(conn, sha, counters) for _ in range(6)]
    for k, reply in enumerate(replies[:5]):
        elapsed = reply.now - first.now
        assert reply.admitted and reply.retry == 0
        # TAT after k+1 takes is first.now + (k+1)·T, so ahead = (k+1)·T − elapsed.
        assert reply.counters == [(4 - k, (k + 1) * interval - elapsed, 0)]
    for reply in replies[5:]:
        elapsed = reply.now - first.now
        assert not reply.admitted
        # ahead would be 6T − elapsed; the wait is what exceeds the window; a rejection takes nothing.
        assert reply.retry == 6 * interval - elapsed - MINUTE
        assert reply.counters == [(0, 5 * interval - elapsed, 1)]
    assert int(conn.command("GET", key("minute"))) == first.now + 5 * interval


def test_a_request_rejected_by_one_policy_takes_nothing_from_the_other(conn, sha, key):
    wide, narrow = key("hour"), key("minute")
    counters = {wide: policy(100, HOUR), narrow: policy(2, MINUTE)}
    first = call(conn, sha, counters)
    call(conn, sha, counters)
    tat_before = conn.command("GET", wide)
    rejected = call(conn, sha, counters)
    assert not rejected.admitted
    assert conn.command("GET", wide) == tat_before, "the rejected request was counted by the hour policy"
    elapsed = rejected.now - first.now
    # The hour policy reports its state before the request: 98 left, its two takes' reset.
    assert rejected.counters[0] == (98, 2 * (HOUR // 100) - elapsed, 0)
    assert rejected.counters[1] == (0, 2 * (MINUTE // 2) - elapsed, 1)
    assert rejected.retry == 3 * (MINUTE // 2) - elapsed - MINUTE


def test_check_only_changes_nothing(conn, sha, key):
    budget = key("auth-minute")
    fresh = call(conn, sha, {budget: policy(3, MINUTE, "check")})
    assert fresh.admitted and fresh.counters == [(2, MINUTE // 3, 0)]
    assert conn.command("EXISTS", budget) == 0
    for _ in range(3):
        assert call(conn, sha, {budget: policy(3, MINUTE, "record")}).recorded
    spent_tat = conn.command("GET", budget)
    spent = call(conn, sha, {budget: policy(3, MINUTE, "check")})
    assert not spent.admitted and spent.retry > 0 and spent.counters[0][2] == 1
    assert conn.command("GET", budget) == spent_tat


def test_one_call_decides_the_request_and_records_a_failure_apart(conn, sha, key):
    request, budget = key("minute"), key("auth-minute")
    # The failure budget (checked) is spent, so the request is refused and takes nothing from its
    # policy, while a failure recorded in the same call is counted on its own terms.
    spent = redis_now(conn) + MINUTE
    conn.command("SET", budget, str(spent))
    reply = call(conn, sha, {request: policy(5, MINUTE), budget: policy(3, MINUTE, "check"),
                             key("auth-hour"): policy(10, HOUR, "record")})
    assert not reply.admitted and reply.recorded
    assert conn.command("EXISTS", request) == 0
    assert conn.command("GET", budget) == str(spent)
    assert int(conn.command("GET", key("auth-hour"))) == reply.now + HOUR // 10


def test_written_keys_expire_when_their_bucket_is_full_again(conn, sha, key):
    short, long = key("minute"), key("hour")
    call(conn, sha, {short: policy(5, MINUTE), long: policy(1000, HOUR)})
    # After one take each bucket is full again one interval later: 12 s and 3.6 s.
    assert 11_900 < conn.command("PTTL", short) <= 12_000
    assert 3_500 < conn.command("PTTL", long) <= 3_600
    for _ in range(10):
        call(conn, sha, {short: policy(5, MINUTE)})
    assert 59_000 < conn.command("PTTL", short) <= MINUTE // 1000


def test_noscript_after_a_flush_then_a_reload_keeps_the_counters(redis, conn, sha, key):
    counters = {key("minute"): policy(5, MINUTE)}
    call(conn, sha, counters)
    redis.script_flush()
    args = [a for spec in counters.values() for a in spec]
    missing = conn.command("EVALSHA", sha, 1, *counters, *args)
    assert isinstance(missing, RedisError) and missing.code == "NOSCRIPT"
    assert conn.command("SCRIPT", "LOAD", SCRIPT) == sha
    assert call(conn, sha, counters).counters[0][0] == 3, "the reload lost the first request"


def test_two_nodes_interleaving_admit_exactly_the_quota(redis, sha, key):
    counters = {key("hour"): policy(30, HOUR)}
    nodes = [redis.connect(), redis.connect()]
    alternating = [call(nodes[i % 2], sha, counters).admitted for i in range(20)]
    assert alternating == [True] * 20
    admitted = []

    def node(conn):
        admitted.extend(call(conn, sha, counters).admitted for _ in range(50))

    threads = [threading.Thread(target=node, args=(conn,)) for conn in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for conn in nodes:
        conn.close()
    assert admitted.count(True) == 10 and len(admitted) == 100


def test_a_half_spent_bucket_gives_what_the_swift_gcra_gives(conn, sha, key):
    # Hand-worked from GCRA.evaluate with q = 4, w = 60 s (T = 15 s), the stored TAT 40 s ahead
    # of now (the client sent 4 in the last minute, the last ~20 s ago):
    #   base = TAT, newTAT = TAT + 15 s, ahead = 55 s ≤ 60 s → admitted, remaining ⌊5/15⌋ = 0,
    #   reset 55 s; the next: ahead = 70 s > 60 s → rejected, wait 10 s, reset 55 s.
    counter = key("minute")
    now = redis_now(conn)
    conn.command("SET", counter, str(now + 40_000_000))
    admitted = call(conn, sha, {counter: policy(4, MINUTE)})
    rejected = call(conn, sha, {counter: policy(4, MINUTE)})
    drift = admitted.now - now  # the microseconds between our TIME and the script's
    assert admitted.admitted and admitted.counters == [(0, 55_000_000 - drift, 0)]
    drift = rejected.now - now
    assert not rejected.admitted
    assert rejected.retry == 10_000_000 - drift
    assert rejected.counters == [(0, 55_000_000 - drift, 1)]


def test_bad_arguments_are_refused_and_write_nothing(conn, sha, key):
    for spec in [(0, MINUTE, "take"), (MINUTE, 5, "take"), ("x", MINUTE, "take"), (1000, MINUTE, "steal")]:
        reply = conn.command("EVALSHA", sha, 1, key("minute"), *spec)
        assert isinstance(reply, RedisError) and "bad arguments" in reply
    assert conn.command("EXISTS", key("minute")) == 0
