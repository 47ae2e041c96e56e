"""SPEC §9, deploy/cluster: three filmd nodes on one PostgreSQL behind HAProxy, started by
scripts/cluster.py's `Cluster` (the same code as `make cluster`), every request through the
balancer. One cluster for the module: it takes a few seconds to start."""
from __future__ import annotations

import http.client
import itertools
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from filmd_server import FILMD_BIN, wait_until
from live_helpers import assert_film

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from cluster import Cluster  # noqa: E402

pytestmark = pytest.mark.slow

# Every client here is 127.0.0.x: limits that would throttle the load are off (each node's
# limiter is its own until rate_limits.storage is Redis).
OVERRIDES = {"rate_limits": {"enabled": False}, "auth": {"anonymous_role": "admin"}}


@pytest.fixture(scope="module")
def cluster():
    with Cluster(nodes=3, filmd_bin=FILMD_BIN, config_overrides=OVERRIDES) as running:
        yield running


def _call(cluster, method: str, path: str, body: dict | None = None, headers: dict | None = None,
          source: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=10,
                                            source_address=(source, 0) if source else None)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if payload else {}
        connection.request(method, path, body=payload, headers={**all_headers, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _stored_likes(cluster, film_id: int) -> int:
    return int(cluster.postgres.sql(f"SELECT likes FROM films WHERE id = {film_id}", database="filmd").strip())


def _requests_seen(node, request_ids: set[str]) -> list[dict]:
    return [r for r in node.log_records() if r.get("msg") == "request" and r.get("http.request.id") in request_ids]


def test_tutorial_api_through_the_balancer(cluster):
    status, body = _call(cluster, "GET", "/")
    film = assert_film(json.loads(body))
    assert status == 200
    status, _ = _call(cluster, "GET", f"/?like={film['id']}")
    assert status == 200
    status, body = _call(cluster, "POST", "/add_film", {"name": "Cluster Film", "studio": "Nodes", "year": 2026})
    assert status == 201, body
    added = json.loads(body)
    # Written through one node, read through the others: one catalogue.
    for _ in range(3):
        status, body = _call(cluster, "GET", f"/films/{added['id']}")
        assert status == 200 and json.loads(body)["name"] == "Cluster Film"


def test_resource_api_through_the_balancer(cluster):
    status, body = _call(cluster, "GET", "/films?limit=5")
    page = json.loads(body)
    assert status == 200 and len(page["films"]) == 5 and page["next_cursor"]
    status, body = _call(cluster, "POST", "/films", {"name": "Resource Film", "studio": "Nodes"})
    assert status == 201, body
    film_id = json.loads(body)["id"]
    status, _ = _call(cluster, "POST", f"/films/{film_id}/like")
    assert status == 200 and _stored_likes(cluster, film_id) == 1
    status, body = _call(cluster, "GET", "/films/999999999")
    assert status == 404 and json.loads(body)["status"] == 404


def test_the_sample_films_are_seeded_once(cluster):
    rows = len((Path(__file__).resolve().parents[2] / "data" / "films.csv").read_text().strip().splitlines()) - 1
    seeded = [r for node in cluster.nodes for r in node.log_records() if r.get("msg") == "catalogue seeded"]
    assert len(seeded) == 1 and seeded[0]["films.count"] == rows, seeded


def test_each_node_gets_traffic_and_logs_the_client_from_x_forwarded_for(cluster):
    """From 127.0.0.2, with a forged X-Forwarded-For: every node logs 127.0.0.2 as the client
    (HAProxy's appended hop), HAProxy's 127.0.0.1 as the peer, never the forged address."""
    ids = {f"xff-{uuid.uuid4().hex[:12]}" for _ in range(6)}
    for request_id in ids:
        status, _ = _call(cluster, "GET", "/films?limit=1", source="127.0.0.2",
                          headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": request_id})
        assert status == 200
    for node in cluster.nodes:  # round robin: two each
        records = wait_until(lambda: len(_requests_seen(node, ids)) == 2 and _requests_seen(node, ids),
                             what=f"node {node.name}'s request lines")
        for record in records:
            assert record["client.address"] == "127.0.0.2", record
            assert record["network.peer.address"] == "127.0.0.1", record


def _like_load(cluster, film_ids: list[int], count: int, tally: dict, lock: threading.Lock,
               progress: threading.Semaphore) -> None:
    """`count` likes over one keep-alive connection (a new one after a failure), GET /?like=
    and POST /films/ID/like in turn; per film: acknowledged (2xx) and failed (anything else)."""
    connection = None
    for i, film_id in zip(range(count), itertools.cycle(film_ids)):
        method, path = ("GET", f"/?like={film_id}") if i % 2 == 0 else ("POST", f"/films/{film_id}/like")
        try:
            connection = connection or http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=15)
            connection.request(method, path)
            response = connection.getresponse()
            response.read()
            outcome = "acknowledged" if 200 <= response.status < 300 else "failed"
        except (OSError, http.client.HTTPException):
            outcome = "failed"
            connection.close()
            connection = None
        with lock:
            tally[film_id][outcome] += 1
        progress.release()
    if connection:
        connection.close()


def test_kill_9_of_one_node_under_like_load_loses_and_doubles_nothing_acknowledged(cluster):
    films = []
    for name in ("Load One", "Load Two"):
        status, body = _call(cluster, "POST", "/films", {"name": name, "studio": "Nodes"})
        assert status == 201
        films.append(json.loads(body)["id"])
    tally = {film_id: {"acknowledged": 0, "failed": 0} for film_id in films}
    lock, progress = threading.Lock(), threading.Semaphore(0)
    threads = [threading.Thread(target=_like_load, args=(cluster, films, 200, tally, lock, progress))
               for _ in range(4)]
    victim = cluster.nodes[1]
    for thread in threads:
        thread.start()
    for _ in range(150):  # the load is under way on every node
        assert progress.acquire(timeout=30)
    assert any("like" in r.get("url.path", "") + r.get("http.route", "") for r in victim.log_records()
               if r.get("msg") == "request"), "node b served no like before it was killed"
    victim.kill()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    for film_id, counts in tally.items():
        stored = _stored_likes(cluster, film_id)
        # Every acknowledged like is stored once; a failed one may or may not be (its outcome is
        # unknown), but never twice: HAProxy repeats only connections that were never made.
        assert counts["acknowledged"] <= stored <= counts["acknowledged"] + counts["failed"], (film_id, counts, stored)
    assert sum(c["acknowledged"] for c in tally.values()) >= 600, tally  # the others kept serving
    wait_until(lambda: cluster.balancer.server_states()["b"].startswith("DOWN"), timeout=10, what="HAProxy to mark b DOWN")


def test_the_killed_node_rejoins(cluster):
    victim = cluster.nodes[1]
    if victim.process.poll() is None:  # run alone: kill it first
        victim.kill()
    victim.start().wait_ready()
    cluster.balancer.wait_in_rotation(["b"])
    ids = {f"rejoin-{uuid.uuid4().hex[:12]}" for _ in range(6)}
    for request_id in ids:
        status, _ = _call(cluster, "GET", "/", headers={"X-Request-ID": request_id})
        assert status == 200
    wait_until(lambda: len(_requests_seen(victim, ids)) == 2, what="node b to serve its share again")


def test_the_example_node_config_is_valid():
    """deploy/cluster/node.json passes the node's own validation (exit 0, not 78)."""
    example = Path(__file__).resolve().parents[2] / "deploy" / "cluster" / "node.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILMD_")}
    done = subprocess.run([FILMD_BIN, "check-config", "--config", str(example)], capture_output=True,
                          text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    effective = json.loads(done.stdout)
    assert effective["database"]["url"].startswith("postgres://")
    assert effective["server"]["trusted_proxies"] == ["10.0.0.10"]
