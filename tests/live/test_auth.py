"""API keys and roles (SPEC §4) against the real binary, keys made with `filmd keys`."""
from __future__ import annotations

import json
import re
import time

from live_helpers import assert_problem

KEY_FORMAT = re.compile(r"^filmd_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$")
LIST_FIELDS = {"id", "name", "role", "created_at", "expires_at", "revoked_at", "last_used_at"}
INVALID = 'Bearer realm="filmd", error="invalid_token"'


def create_key(server, role: str, name: str = "test", *extra: str) -> tuple[str, str]:
    proc = server.cli("keys", "create", "--role", role, "--name", name, *extra)
    assert proc.returncode == 0, proc
    record = json.loads(proc.stdout.decode().strip())
    assert KEY_FORMAT.match(record["key"]), record
    assert record["key"].startswith(f"filmd_{record['id']}_")
    return record["key"], record["id"]


def list_keys(server) -> list[dict]:
    proc = server.cli("keys", "list", check=True)
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]


def eventually(check, timeout: float = 3.0) -> float:
    """Seconds until `check()` is true; fails after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "not within the deadline"
        time.sleep(0.05)
    return time.monotonic() - started


def secured(make_server, anonymous: str = "voter", roles: tuple[str, ...] = (), **rate_limits):
    """A server with these anonymous role and limits, and keys of `roles` made before it starts."""
    limits = {"enabled": bool(rate_limits), "default": "", "routes": {}, **rate_limits}
    server = make_server({"auth": {"anonymous_role": anonymous}, "rate_limits": limits}, start=False)
    keys = [create_key(server, role, role) for role in roles]
    return server.start(), keys


def test_keys_cli_round_trip(make_server):
    server, _ = secured(make_server)
    proc = server.cli("keys", "create", "--role", "editor", "--name", "ci bot", "--expires", "90d")
    assert proc.returncode == 0, proc
    created = json.loads(proc.stdout)
    assert b"only time" in proc.stderr
    assert created["role"] == "editor" and created["name"] == "ci bot" and created["expires_at"]
    listed = list_keys(server)
    assert [k["id"] for k in listed] == [created["id"]]
    assert set(listed[0]) == LIST_FIELDS
    dump = server.cli("keys", "list").stdout.decode()
    secret = created["key"].rsplit("_", 1)[1]
    assert secret not in dump and "hash" not in dump
    revoked = json.loads(server.cli("keys", "revoke", created["id"], check=True).stdout)
    assert revoked["revoked_at"] and list_keys(server)[0]["revoked_at"] == revoked["revoked_at"]
    assert server.cli("keys", "revoke", "nosuchkeyid0").returncode != 0
    assert server.cli("keys", "create", "--role", "god", "--name", "x").returncode != 0
    assert server.cli("keys", "create", "--role", "reader", "--name", "x", "--expires", "soon").returncode != 0
    # Only the digest is in the database: 32 bytes, not the secret's 32 characters.
    assert server.sql("SELECT length(secret_hash) FROM api_keys") == [["32"]]
    assert server.sql(f"SELECT count(*) FROM api_keys WHERE secret_hash = CAST('{secret}' AS {'bytea' if server.postgres else 'blob'})") == [["0"]]


def test_every_bad_key_gets_one_401_body(make_server):
    server, [(expired_key, expired_id), (revoked_key, revoked_id)] = secured(make_server, roles=("admin", "admin"))
    server.cli("keys", "revoke", revoked_id, check=True)
    server.sql(f"UPDATE api_keys SET expires_at = 1 WHERE id = '{expired_id}'")  # expired a second after the epoch
    unknown = "filmd_AAAAAAAAAAAA_" + "B" * 32
    wrong_secret = expired_key[:-1] + ("x" if not expired_key.endswith("x") else "y")
    cases = [{"X-API-Key": expired_key}, {"Authorization": f"Bearer {revoked_key}"}, {"X-API-Key": unknown},
             {"X-API-Key": wrong_secret}, {"X-API-Key": "filmd_malformed"}, {"Authorization": "Basic dTpw"}]
    for headers in cases[:2]:  # the running server has seen the revocation and the expiry
        eventually(lambda: server.request("GET", "/films", headers=headers).status == 401)
    bodies = set()
    for headers in cases:
        resp = server.request("GET", "/films", headers=headers)  # a public route: still refused
        body = assert_problem(resp, 401)
        assert resp.header("WWW-Authenticate") == INVALID, headers
        del body["request_id"]
        bodies.add(json.dumps(body, sort_keys=True))
    assert len(bodies) == 1, bodies
    # No key where the anonymous role is not enough: 401 without an error, the same body.
    resp = server.request("POST", "/add_film", json_body={"name": "Up", "studio": "Pixar"})
    body = assert_problem(resp, 401)
    assert resp.header("WWW-Authenticate") == 'Bearer realm="filmd"'
    del body["request_id"]
    assert json.dumps(body, sort_keys=True) in bodies


def test_roles(make_server):
    server, [(reader, _), (editor, _), (admin, _)] = secured(make_server, roles=("reader", "editor", "admin"))
    film = server.request("POST", "/add_film", json_body={"name": "Up", "studio": "Pixar"}, headers={"X-API-Key": editor})
    assert film.status == 201, film
    film_id = film.json()["id"]
    assert_problem(server.request("POST", "/add_film", json_body={"name": "A", "studio": "B"}, headers={"X-API-Key": reader}), 403)
    assert_problem(server.request("DELETE", f"/films/{film_id}", headers={"authorization": f"bearer {editor}"}), 403)
    assert_problem(server.request("GET", f"/?like={film_id}", headers={"X-API-Key": reader}), 403)
    assert server.request("GET", "/", headers={"X-API-Key": reader}).status == 200
    # Anonymous voters may vote (both APIs) but not add.
    assert server.request("GET", f"/?like={film_id}").status == 200
    assert server.request("POST", f"/films/{film_id}/dislike").status == 200
    assert server.request("GET", f"/films/{film_id}").json()["likes"] == 1
    assert_problem(server.request("POST", "/films", json_body={"name": "A", "studio": "B"}), 401)
    assert server.request("DELETE", f"/films/{film_id}", headers={"AUTHORIZATION": f"BEARER {admin}"}).status == 204
    record = server.wait_for_log(lambda r: r.get("http.response.status_code") == 403)
    assert record["security.event"] == "forbidden" and record["auth.key_id"]


def test_keys_made_or_revoked_while_running_take_effect_within_a_second_or_two(make_server):
    server, _ = secured(make_server, anonymous="none")
    assert server.request("GET", "/films").status == 401
    key, key_id = create_key(server, "reader")
    took = eventually(lambda: server.request("GET", "/films", headers={"X-API-Key": key}).status == 200)
    server.cli("keys", "revoke", key_id, check=True)
    took = max(took, eventually(lambda: server.request("GET", "/films", headers={"X-API-Key": key}).status == 401))
    assert took < 2.0
    # The key was used: last_used_at is written (batched, off the loop) soon after.
    eventually(lambda: list_keys(server)[0]["last_used_at"] is not None)
    # Never from the URL.
    fresh, _ = create_key(server, "reader")
    eventually(lambda: server.request("GET", "/films", headers={"X-API-Key": fresh}).status == 200)
    assert server.request("GET", f"/films?api_key={fresh}").status == 401
    assert server.request("GET", f"/films?key={fresh}&access_token={fresh}").status == 401


def test_failed_authentications_have_a_stricter_limit_per_client(make_server):
    server, [(good, _)] = secured(make_server, roles=("reader",), auth_failures="3 per minute")
    bad = {"X-API-Key": "filmd_AAAAAAAAAAAA_" + "C" * 32}
    assert [server.request("GET", "/films", headers=bad, source_address="127.0.0.2").status for _ in range(3)] == [401] * 3
    resp = server.request("GET", "/films", headers={"X-API-Key": good}, source_address="127.0.0.2")
    assert_problem(resp, 429)
    assert int(resp.header("Retry-After")) >= 1
    assert resp.header("RateLimit-Policy") == '"auth-minute";q=3;w=60'
    # Another client is untouched; this one may still go on without a key.
    assert server.request("GET", "/films", headers={"X-API-Key": good}, source_address="127.0.0.3").status == 200
    assert server.request("GET", "/films", source_address="127.0.0.2").status == 200


def test_no_log_line_ever_contains_a_key(make_server):
    server, [(key, key_id)] = secured(make_server, anonymous="reader", roles=("editor",), auth_failures="100 per minute")
    secret = key.rsplit("_", 1)[1]
    assert server.request("GET", "/films", headers={"X-API-Key": key}).status == 200
    server.request("POST", "/films", json_body={"name": key, "studio": "S"}, headers={"Authorization": f"Bearer {key}"})
    server.request("GET", "/films", headers={"X-API-Key": key[:-1] + "Z", "User-Agent": "agent"})
    server.request("GET", f"/films?api_key={key}", headers={"Authorization": f"Token {key}"})
    server.request("GET", "/nowhere", headers={"X-API-Key": key, "Cookie": f"k={key}"})
    server.request("DELETE", "/films/1", headers={"X-API-Key": key})
    server.stop()
    records = server.log_records()  # every line is JSON
    assert any(r.get("auth.key_id") == key_id for r in records)
    for line in server.lines:
        assert secret not in line and secret[:16] not in line, line
