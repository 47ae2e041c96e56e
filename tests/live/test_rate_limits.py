"""Per-client rate limits (SPEC §2) against the real binary: distinct loopback source addresses
(127.0.0.2, 127.0.0.3, ...) are distinct clients."""
from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from filmd_server import wait_until
from live_helpers import assert_problem

POLICY_MEMBER = re.compile(r'^"[A-Za-z0-9_-]+";q=\d+;w=\d+$')
STATUS_VALUE = re.compile(r'^"[A-Za-z0-9_-]+";r=\d+;t=\d+$')


def limited(overrides: dict | None = None, **rate_limits) -> dict:
    """A configuration with only the given limits (no tutorial defaults)."""
    config = {"rate_limits": {"enabled": True, "default": "", "application": "", "routes": {}, **rate_limits}}
    for key, value in (overrides or {}).items():
        config.setdefault(key, {}).update(value)
    return config


def get(server, path="/films?limit=1", source=None, headers=None):
    return server.request("GET", path, headers=headers, source_address=source)


def assert_rate_limit_headers(resp) -> None:
    policy = resp.header("RateLimit-Policy")
    assert policy, resp.header_list
    assert all(POLICY_MEMBER.match(member.strip()) for member in policy.split(",")), policy
    assert STATUS_VALUE.match(resp.header("RateLimit") or ""), resp.header("RateLimit")


def test_one_clients_429s_leave_another_untouched(make_server):
    server = make_server(limited(routes={"GET /films": "2 per minute"}))
    assert [get(server, source="127.0.0.2").status for _ in range(4)] == [200, 200, 429, 429]
    assert get(server, source="127.0.0.3").status == 200
    assert get(server, source="127.0.0.3").status == 200
    assert get(server, source="127.0.0.3").status == 429
    assert get(server, source="127.0.0.4").status == 200


def test_429_is_a_problem_with_retry_after_and_ratelimit_headers(make_server):
    server = make_server(limited(default="3 per hour", routes={"GET /films": "1 per second"}))
    ok = get(server, source="127.0.0.2")
    assert ok.status == 200
    assert ok.header("RateLimit-Policy") == '"hour";q=3;w=3600, "second";q=1;w=1'
    assert ok.header("RateLimit") == '"second";r=0;t=1'
    resp = get(server, source="127.0.0.2")
    body = assert_problem(resp, 429)
    assert body["type"].endswith("/rate-limited")
    assert re.fullmatch(r"[1-9]\d*", resp.header("Retry-After") or ""), resp.header("Retry-After")
    assert_rate_limit_headers(resp)
    assert resp.header("X-Content-Type-Options") == "nosniff" and resp.header("X-Request-ID")
    # Error responses of a limited route carry the headers too.
    time.sleep(1.05)
    missing = get(server, "/films/999", source="127.0.0.2")
    assert missing.status == 404
    assert_rate_limit_headers(missing)
    # Health and readiness are exempt: never limited, no headers.
    for _ in range(5):
        health = get(server, "/healthz", source="127.0.0.2")
        assert health.status == 200 and health.header("RateLimit") is None
    record = server.wait_for_log(lambda r: r.get("http.response.status_code") == 429)
    assert record["ratelimit.decision"] == "rejected" and record["security.event"] == "rate_limited"


def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(make_server):
    server = make_server(limited(routes={"GET /films": "2 per minute"}))
    statuses = [get(server, source="127.0.0.2", headers={"X-Forwarded-For": f"203.0.113.{i}",
                                                         "Forwarded": f"for=198.51.100.{i}"}).status for i in range(4)]
    assert statuses == [200, 200, 429, 429]
    record = server.wait_for_log(lambda r: r.get("http.response.status_code") == 429)
    assert record["client.address"] == "127.0.0.2" and record["network.peer.address"] == "127.0.0.2"


def test_trusted_proxy_forwards_each_client_by_address(make_server):
    server = make_server(limited({"server": {"trusted_proxies": ["127.0.0.1"]}}, routes={"GET /films": "1 per minute"}))
    via_proxy = lambda client: get(server, source="127.0.0.1", headers={"X-Forwarded-For": f"6.6.6.6, {client}"}).status
    assert via_proxy("203.0.113.1") == 200
    assert via_proxy("203.0.113.2") == 200
    assert via_proxy("203.0.113.1") == 429
    # IPv6 clients are keyed by their /64.
    assert via_proxy("2001:db8:1:2::1") == 200
    assert via_proxy("2001:db8:1:2::ffff") == 429
    assert via_proxy("2001:db8:1:3::1") == 200
    # RFC 7239 Forwarded, with a port, when there is no X-Forwarded-For.
    assert get(server, source="127.0.0.1", headers={"Forwarded": 'for="203.0.113.7:4711"'}).status == 200
    record = server.wait_for_log(lambda r: r.get("client.address") == "203.0.113.2")
    assert record["network.peer.address"] == "127.0.0.1"
    # Another peer is not a trusted proxy: its header is ignored.
    assert get(server, source="127.0.0.5", headers={"X-Forwarded-For": "203.0.113.9"}).status == 200
    assert get(server, source="127.0.0.5", headers={"X-Forwarded-For": "203.0.113.10"}).status == 429


def test_disabled_and_dry_run_never_reject(make_server):
    off = make_server(limited(enabled=False, routes={"GET /films": "1 per minute"}))
    statuses = [get(off, source="127.0.0.2") for _ in range(3)]
    assert [r.status for r in statuses] == [200, 200, 200] and statuses[-1].header("RateLimit") is None
    assert off.wait_for_log(lambda r: r.get("url.path") == "/films")["ratelimit.decision"] == "disabled"
    dry = make_server(limited(dry_run=True, routes={"GET /films": "1 per minute"}))
    assert [get(dry, source="127.0.0.2").status for _ in range(3)] == [200, 200, 200]
    decisions = lambda: [r.get("ratelimit.decision") for r in dry.log_records() if r.get("url.path") == "/films"]
    wait_until(lambda: len(decisions()) >= 3, timeout=3, what="three request lines")
    assert decisions() == ["allowed", "dry_run_rejected", "dry_run_rejected"]


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def pipelined(server, addresses: list[str], path: str = "/films?limit=1", batch: int = 500) -> dict[int, int]:
    """One keep-alive connection from 127.0.0.1: GETs pipelined `batch` at a time, one per
    forwarded address, each batch answered before the next is sent (so the server never holds
    more than a batch of input). Returns {status: count}."""
    counts: dict[int, int] = {}
    with socket.create_connection((server.host, server.port), timeout=60, source_address=("127.0.0.1", 0)) as sock:
        for start in range(0, len(addresses), batch):
            chunk = addresses[start:start + batch]
            sock.sendall(b"".join(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {a}\r\n\r\n".encode() for a in chunk))
            received, seen = bytearray(), 0
            while seen < len(chunk):
                data = sock.recv(1 << 20)
                assert data, "the server closed the connection"
                received.extend(data)
                seen = received.count(b"HTTP/1.1 ")
            while not received.endswith(b"}") and not received.endswith(b"\r\n\r\n"):
                received.extend(sock.recv(1 << 20))  # the last body
            for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", bytes(received)):
                counts[int(status)] = counts.get(int(status), 0) + 1
    return counts


@pytest.mark.slow
@pytest.mark.memory_limiter
def test_fifty_thousand_clients_stay_within_the_cap(make_server, capsys):
    cap, clients = 20_000, 50_000
    server = make_server(limited({"server": {"trusted_proxies": ["127.0.0.1"]}}, default="2 per hour", max_clients=cap))
    greedy = "198.51.100.1"
    assert pipelined(server, [greedy] * 3) == {200: 2, 429: 1}
    before = vm_rss_kib(server.process.pid)
    addresses = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(1, clients + 1)]
    started = time.monotonic()
    threads, results = [], []
    for part in range(4):
        chunk = addresses[part::4]
        threads.append(threading.Thread(target=lambda c=chunk: results.append(pipelined(server, c))))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    after = vm_rss_kib(server.process.pid)
    totals = {status: sum(r.get(status, 0) for r in results) for status in (200, 429)}
    assert sum(totals.values()) == clients, results
    # Every newcomer past the cap takes the row of a one-shot client (one of two spent: within its
    # allowance), so all are admitted ...
    assert totals[200] == clients, totals
    # ... and none took the greedy client's row: it is over its limit and still limited.
    assert pipelined(server, [greedy]) == {429: 1}
    assert tracked_clients(server) == cap
    stated = int(server.wait_for_log(lambda r: r.get("msg") == "rate limiter ready")["ratelimit.bytes_per_client"])
    growth = after - before
    with capsys.disabled():
        print(f"\n  {clients} clients through a trusted proxy in {elapsed:.1f} s; max_clients {cap}, "
              f"{stated} B per client stated; VmRSS {before} KiB before, {after} KiB after "
              f"(+{growth} KiB = {growth * 1024 // cap} B per tracked client)")
    # The table's share is cap × stated bytes; the rest of the growth is allocator slack and buffers.
    assert growth * 1024 < cap * stated + 8 * 1024 * 1024, f"RSS grew by {growth} KiB"


def tracked_clients(server) -> int:
    metrics = server.request("GET", "/metrics").body.decode()
    return int(float(re.search(r"^filmd_ratelimit_tracked_clients (\S+)$", metrics, re.M).group(1)))


def forwarded(prefix: str, count: int) -> list[str]:
    return [f"{prefix}.{i >> 8 & 255}.{i & 255}" for i in range(count)]


@pytest.mark.memory_limiter
def test_a_table_filled_by_one_shot_clients_still_admits_newcomers(make_server):
    """The attack on a bounded table: fill it with one-shot clients so that every newcomer is
    locked out or shares one counter. Newcomers must take the place of clients within their
    allowance, while the over-limit client keeps its state."""
    cap = 50
    server = make_server(limited({"server": {"trusted_proxies": ["127.0.0.1"]}}, default="5 per hour", max_clients=cap))
    greedy = "198.51.100.1"
    assert pipelined(server, [greedy] * 6) == {200: 5, 429: 1}
    assert pipelined(server, forwarded("10.0", cap - 1)) == {200: cap - 1}
    assert tracked_clients(server) == cap
    assert pipelined(server, forwarded("10.1", 500)) == {200: 500}
    assert pipelined(server, [greedy] * 3) == {429: 3}
    assert tracked_clients(server) == cap
    assert not any(r.get("msg", "").startswith("rate limiter full") for r in server.log_records())


@pytest.mark.memory_limiter
def test_when_every_tracked_client_is_over_its_limit_newcomers_share_many_hashed_rows(make_server):
    cap = 20
    server = make_server(limited({"server": {"trusted_proxies": ["127.0.0.1"]}}, default="5 per hour", max_clients=cap))
    spent = forwarded("10.0", cap)
    assert pipelined(server, [address for address in spent for _ in range(5)]) == {200: 5 * cap}
    # One newcomer hammers: it spends the shared row its address hashes to ...
    assert pipelined(server, ["203.0.113.66"] * 12) == {200: 5, 429: 7}
    # ... and only the newcomers that hash to the same row (1 in 256) are refused with it.
    counts = pipelined(server, forwarded("10.2", 200))
    assert counts.get(200, 0) >= 190, counts
    assert pipelined(server, spent) == {429: cap}
    notice = server.wait_for_log(lambda r: r.get("msg", "").startswith("rate limiter full"))
    assert int(notice["ratelimit.tracked_clients"]) == cap and int(notice["ratelimit.max_clients"]) == cap
