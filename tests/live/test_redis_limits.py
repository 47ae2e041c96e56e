"""Rate limits shared through Redis (SPEC §9) against real processes: filmd nodes and one
redis-server started by the tests on free loopback ports. Distinct loopback source addresses
(127.0.0.2, ...) are distinct clients."""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

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
    # Many clients on both nodes at once: each gets exactly its allowance.
    clients = [f"127.0.1.{i}" for i in range(1, 21)]
    jobs = [(node, client) for client in clients for node in [a, b] * 10]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda job: (job[1], get(job[0], job[1]).status), jobs))
    admitted = {client: sum(1 for c, s in results if c == client and s == 200) for client in clients}
    assert all(status in (200, 429) for _, status in results)
    assert set(admitted.values()) == {10}, admitted
    assert metric(a, "filmd_ratelimit_storage_fallbacks_total", '{policy="local",reason="timeout"}') == 0
    with capsys.disabled():
        total = sum(admitted.values())
        print(f"\n  two nodes, one Redis: alternating client 10 of 30 admitted; "
              f"{len(clients)} clients x 20 requests on both nodes at once: {total} admitted = {len(clients)} x 10")


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
