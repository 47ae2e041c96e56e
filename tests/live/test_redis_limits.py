"""Rate limits shared through Redis (SPEC §9) against real processes: filmd nodes and one
redis-server started by the tests on free loopback ports. Distinct loopback source addresses
(127.0.0.2, ...) are distinct clients."""
from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from filmd_server import wait_until
from live_helpers import assert_problem
from redis_service import RedisService

TIMEOUT_MS = 50
# What a request may take beyond the storage timeout on this shared 2-core machine (a new
# connection, a debug build, the request's own work).
MARGIN_S = 0.5


@pytest.fixture
def redis(tmp_path):
    """A redis-server of this test alone (these tests kill and restart it)."""
    service = RedisService(tmp_path / "redis").start()
    yield service
    service.stop()


def shared(redis, routes: dict, **rate_limits) -> dict:
    return {"rate_limits": {"enabled": True, "default": "", "application": "", "routes": routes,
                            "storage": redis.url, "storage_timeout_ms": TIMEOUT_MS, **rate_limits}}


def get(server, source: str, headers: dict | None = None):
    return server.request("GET", "/films?limit=1", headers=headers, source_address=source)


def metric(server, name: str, labels: str = "") -> float:
    text = server.request("GET", "/metrics").body.decode()
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def burst(jobs: list) -> list[int]:
    """Each (server, source) job on its own connection, all connected first and then all sent at
    once, so that each node's loop reads many of them in one turn (one script call for them).
    Returns the statuses in the jobs' order."""
    socks = []
    for server, source in jobs:
        sock = socket.create_connection((server.host, server.port), timeout=10, source_address=(source, 0))
        socks.append(sock)
    request = b"GET /films?limit=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    for sock in socks:
        sock.sendall(request)
    statuses = []
    for sock in socks:
        with sock:
            head = b""
            while b"\r\n" not in head:
                chunk = sock.recv(4096)
                assert chunk, head
                head += chunk
            statuses.append(int(head.split(b" ", 2)[1]))
    return statuses


def script_calls(redis) -> int:
    stats = redis.command("INFO", "commandstats")
    return sum(int(m.group(1)) for m in re.finditer(r"^cmdstat_eval(?:sha)?:calls=(\d+)", stats, re.M))


def breakers_closed(server) -> bool:
    return metric(server, "filmd_ratelimit_storage_breakers_open") == 0


def test_two_nodes_sharing_one_redis_admit_exactly_one_allowance(make_server, redis, capsys):
    config = shared(redis, {"GET /films": "10 per minute"})
    a, b = make_server(config), make_server(config)
    # One client alternating between the nodes: one node's allowance, not two.
    statuses = [get(node, "127.0.0.2").status for node in [a, b] * 15]
    assert statuses.count(200) == 10 and statuses.count(429) == 20, statuses
    assert statuses[:10] == [200] * 10
    refused = get(b, "127.0.0.2")
    assert_problem(refused, 429)
    assert refused.header("RateLimit-Policy") == '"minute";q=10;w=60'
    assert int(refused.header("Retry-After")) >= 1
    # Many clients on both nodes at once, 40 connections per burst: each gets exactly its allowance.
    clients = [f"127.0.1.{i}" for i in range(1, 21)]
    calls_before = script_calls(redis)
    results = []
    for _ in range(10):
        jobs = [(node, client) for client in clients for node in [a, b]]
        results += zip([client for _, client in jobs], burst(jobs))
    admitted = {client: sum(1 for c, s in results if c == client and s == 200) for client in clients}
    assert all(status in (200, 429) for _, status in results)
    assert set(admitted.values()) == {10}, admitted
    for node in [a, b]:
        assert metric(node, "filmd_ratelimit_storage_fallbacks_total", '{policy="local",reason="timeout"}') == 0
    calls = script_calls(redis) - calls_before
    with capsys.disabled():
        total = sum(admitted.values())
        print(f"\n  two nodes, one Redis: alternating client 10 of 30 admitted; {len(clients)} clients x 20 requests "
              f"on both nodes in bursts of 40: {total} admitted = {len(clients)} x 10, in {calls} script calls")


def test_requests_of_one_loop_turn_share_one_script_call_in_order(make_server, redis, capsys):
    """One client's burst on one node: the requests a loop reads in one turn go in one script
    call, each decided after the ones before it (the second sees the first's count)."""
    server = make_server(shared(redis, {"GET /films": "10 per minute"}))
    assert get(server, "127.0.0.2").status == 200  # connected, the script loaded
    before = script_calls(redis)
    statuses = burst([(server, "127.0.0.2")] * 30)
    calls = script_calls(redis) - before
    assert statuses.count(200) == 9 and statuses.count(429) == 21, statuses
    assert calls < 10, calls  # one call each would take 10 (9 admitted, 1 refused; the rest from the refusal cache)
    assert metric(server, "filmd_ratelimit_storage_decisions_total", '{storage="fallback"}') == 0
    with capsys.disabled():
        print(f"\n  one client, 30 requests at once on one node: 9 admitted (10 - 1), in {calls} script calls")


def test_the_auth_failure_budget_is_shared_by_the_nodes(make_server, redis):
    config = shared(redis, {}, auth_failures="3 per minute")
    a, b = make_server(config), make_server(config)
    bad = {"X-API-Key": "filmd_AAAAAAAAAAAA_" + "C" * 32}
    assert [get(node, "127.0.0.2", bad).status for node in [a, b, a]] == [401] * 3
    refused = get(b, "127.0.0.2", bad)
    assert_problem(refused, 429)
    assert refused.header("RateLimit-Policy") == '"auth-minute";q=3;w=60'
    assert get(a, "127.0.0.3", bad).status == 401
    assert get(b, "127.0.0.2").status == 200  # without a key the client goes on


def timed(server, source: str, headers: dict | None = None) -> tuple[int, float]:
    started = time.monotonic()
    status = get(server, source, headers).status
    return status, time.monotonic() - started


def test_redis_killed_and_restarted_falls_back_then_is_exact_again(make_server, redis):
    server = make_server(shared(redis, {"GET /films": "3 per minute"}))
    assert [get(server, "127.0.0.2").status for _ in range(4)] == [200, 200, 200, 429]
    redis.kill()
    # Down: the node's own limiter decides at once (on_storage_error = local); never a 5xx.
    results = [timed(server, "127.0.0.3") for _ in range(5)]
    assert [status for status, _ in results] == [200, 200, 200, 429, 429], results
    assert max(elapsed for _, elapsed in results) < TIMEOUT_MS / 1000 + MARGIN_S, results
    assert metric(server, "filmd_ratelimit_storage_breakers_open") == 1
    server.wait_for_log(lambda r: r.get("msg", "").startswith("rate-limit storage unreachable"))
    redis.start()  # empty, its script cache flushed
    wait_until(lambda: breakers_closed(server), timeout=10, what="the breaker to close")
    server.wait_for_log(lambda r: r.get("msg", "").startswith("rate-limit storage answers again"))
    before = metric(server, "filmd_ratelimit_storage_decisions_total", '{storage="redis"}')
    assert [get(server, "127.0.0.4").status for _ in range(5)] == [200, 200, 200, 429, 429]
    assert metric(server, "filmd_ratelimit_storage_decisions_total", '{storage="redis"}') >= before + 4
    assert metric(server, "filmd_ratelimit_storage_errors_total", '{error="connection"}') >= 1


def test_a_slow_redis_holds_no_request_past_the_timeout(make_server, redis):
    server = make_server(shared(redis, {"GET /films": "100 per minute"}))
    assert get(server, "127.0.0.2").status == 200
    sleeper = redis.sleep_in_background(1.5)
    time.sleep(0.1)
    results = [timed(server, f"127.0.0.{3 + i % 3}") for i in range(10)]
    assert all(status == 200 for status, _ in results), results
    assert max(elapsed for _, elapsed in results) < TIMEOUT_MS / 1000 + MARGIN_S, results
    assert metric(server, "filmd_ratelimit_storage_errors_total", '{error="timeout"}') >= 1
    sleeper.join()
    wait_until(lambda: breakers_closed(server), timeout=10, what="the breaker to close")
    assert metric(server, "filmd_ratelimit_storage_round_trip_seconds_count") >= 1


def test_script_flush_is_answered_by_loading_the_script_again(make_server, redis):
    server = make_server(shared(redis, {"GET /films": "2 per minute"}))
    assert get(server, "127.0.0.2").status == 200
    assert redis.command("SCRIPT", "FLUSH") == "OK"
    assert [get(server, "127.0.0.2").status for _ in range(2)] == [200, 429]
    assert metric(server, "filmd_ratelimit_storage_decisions_total", '{storage="fallback"}') == 0
    keys = redis.command("KEYS", "filmd:*").split("\n")
    assert len(keys) == 1 and keys[0].endswith("r|GET|/films|minute|2/60"), keys
    assert 0 < int(redis.command("PTTL", keys[0])) <= 60_000


@pytest.mark.parametrize("policy, expected", [("allow", 200), ("deny", 429)])
def test_allow_and_deny_when_redis_is_unreachable(make_server, policy, expected, tmp_path):
    dead = RedisService(tmp_path / "never-started")  # a free port nobody listens on
    server = make_server({"rate_limits": {"enabled": True, "default": "", "routes": {"GET /films": "1 per minute"},
                                          "auth_failures": "2 per minute", "storage": dead.url,
                                          "on_storage_error": policy}})
    statuses = [get(server, "127.0.0.2").status for _ in range(3)]
    assert statuses == [expected] * 3
    if policy == "deny":
        assert int(get(server, "127.0.0.2").header("Retry-After")) >= 1
    else:
        # The auth-failure budget never falls back to allow: it is decided by the node.
        bad = {"X-API-Key": "filmd_AAAAAAAAAAAA_" + "C" * 32}
        assert [get(server, "127.0.0.5", bad).status for _ in range(3)] == [401, 401, 429]
    assert metric(server, "filmd_ratelimit_storage_fallbacks_total", f'{{policy="{policy}",reason="unavailable"}}') >= 1


@pytest.mark.slow
def test_redis_failing_under_load_never_causes_a_5xx(make_server, redis):
    server = make_server(shared(redis, {"GET /films": "1000 per minute"}))
    statuses: list[int] = []
    slowest = [0.0]
    stop = threading.Event()

    def hammer(source: str) -> None:
        while not stop.is_set():
            status, elapsed = timed(server, source)
            statuses.append(status)
            slowest[0] = max(slowest[0], elapsed)

    threads = [threading.Thread(target=hammer, args=(f"127.0.2.{i}",)) for i in range(1, 5)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    redis.sleep_in_background(0.5).join()
    time.sleep(0.2)
    redis.restart()
    time.sleep(0.3)
    redis.command("SCRIPT", "FLUSH")
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert statuses and set(statuses) <= {200, 429}, sorted(set(statuses))
    assert slowest[0] < TIMEOUT_MS / 1000 + MARGIN_S, slowest
    wait_until(lambda: breakers_closed(server), timeout=10, what="the breaker to close")
    assert [get(server, "127.0.0.9").status for _ in range(3)] == [200] * 3
