"""Routing, error shape, HEAD parity, raw-protocol robustness and health endpoints."""
from __future__ import annotations

import json

import pytest

from live_helpers import (ModuleServer, add_film, add_films, assert_film, assert_problem, header_of,
                          parse_raw_response, raw_exchange, snapshot)


@pytest.fixture(scope="module")
def tserver(tmp_path_factory):
    """One film (so GET / is deterministic), shared by the read-only tests of this module."""
    with ModuleServer(tmp_path_factory, name="transport") as server:
        add_film(server, "Only film", "Only studio", 2001)
        yield server


def _film_id(server) -> int:
    return snapshot(server)[0]["id"]


def _allow(resp) -> set[str]:
    return {m.strip().upper() for m in (resp.header("Allow") or "").split(",") if m.strip()}


# -- unknown paths and wrong methods -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/nope", "/films/1/foo", "/films/1/like/extra", "/add_film/x", "/index.html",
                                  "/.env", "/films/random/x", "/FILMS", "/healthz/x"])
def test_unknown_path_is_404_problem(tserver, path):
    assert_problem(tserver.request("GET", path), 404)


@pytest.mark.parametrize("path", ["/%2e%2e/etc/passwd", "/../../etc/passwd", "/films/..%2f..%2fetc%2fpasswd"])
def test_traversal_paths_are_problems_without_leaks(tserver, path):
    resp = tserver.request("GET", path)
    assert resp.status in (400, 404), resp
    assert_problem(resp, resp.status)
    assert b"root:" not in resp.body


def test_unknown_path_any_method_is_404_problem(tserver):
    for method in ("POST", "DELETE", "PATCH", "PUT"):
        assert_problem(tserver.request(method, "/definitely-not-here", body=b"{}",
                                       headers={"Content-Type": "application/json"}), 404)


METHOD_CASES = [
    # method, path ({id} = an existing film), methods Allow must list, methods it must not list
    ("DELETE", "/", {"GET", "HEAD"}, {"DELETE", "POST", "PUT", "PATCH"}),
    ("POST", "/", {"GET", "HEAD"}, {"POST"}),
    ("PUT", "/films/{id}", {"GET", "HEAD", "PATCH", "DELETE"}, {"PUT", "POST"}),
    ("POST", "/films/{id}", {"GET", "HEAD", "PATCH", "DELETE"}, {"PUT", "POST"}),
    ("GET", "/films/{id}/like", {"POST"}, {"GET", "DELETE", "PUT", "PATCH"}),
    ("DELETE", "/films/{id}/dislike", {"POST"}, {"GET", "DELETE", "PUT", "PATCH"}),
    ("DELETE", "/films", {"GET", "HEAD", "POST"}, {"DELETE", "PUT", "PATCH"}),
    ("PATCH", "/films", {"GET", "HEAD", "POST"}, {"DELETE", "PUT", "PATCH"}),
    ("PUT", "/add_film", {"POST"}, {"PUT", "DELETE", "PATCH"}),
    ("DELETE", "/add_film", {"POST"}, {"PUT", "DELETE", "PATCH"}),
    ("POST", "/films/random", {"GET", "HEAD"}, {"POST", "DELETE", "PATCH"}),
    ("POST", "/healthz", {"GET", "HEAD"}, {"POST", "DELETE"}),
    ("DELETE", "/readyz", {"GET", "HEAD"}, {"POST", "DELETE"}),
]


@pytest.mark.parametrize("method,path,must,must_not", METHOD_CASES,
                         ids=[f"{m} {p}" for m, p, _, _ in METHOD_CASES])
def test_wrong_method_is_405_with_allow(tserver, method, path, must, must_not):
    before = snapshot(tserver)
    resp = tserver.request(method, path.format(id=_film_id(tserver)), body=b"{}",
                           headers={"Content-Type": "application/json"})
    assert_problem(resp, 405)
    allow = _allow(resp)
    assert must <= allow, f"Allow {resp.header('Allow')!r} lacks {must - allow}"
    assert not (must_not & allow), f"Allow {resp.header('Allow')!r} lists {must_not & allow}"
    assert snapshot(tserver) == before


# -- raw protocol: libevent must never answer with its own HTML ----------------------------------

def _assert_raw_problem(data: bytes, statuses: set[int]) -> int:
    assert b"<html" not in data.lower(), data[:400]
    status, headers, body = parse_raw_response(data)
    assert status in statuses, data[:400]
    ctype = header_of(headers, "Content-Type") or ""
    assert ctype.split(";")[0].strip() == "application/problem+json", data[:400]
    length = header_of(headers, "Content-Length")
    if length is not None:
        body = body[:int(length)]
    problem = json.loads(body)
    assert problem["status"] == status and problem.get("title") and problem.get("request_id"), problem
    return status


@pytest.mark.parametrize("method", [b"FOO", b"PROPFIND", b"BREW", b"get"])
def test_unknown_method_gets_json_problem(tserver, method):
    data = raw_exchange(tserver, method + b" / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    _assert_raw_problem(data, {400, 405, 501})


def test_trace_is_refused_and_does_not_echo(tserver):
    data = raw_exchange(tserver, b"TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Secret: s3cr3t-value\r\n"
                                 b"Connection: close\r\n\r\n")
    _assert_raw_problem(data, {400, 405, 501})
    assert b"s3cr3t-value" not in data


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"GET / HTTP/x.y\r\nHost: x\r\n\r\n",
    b"GET  HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nThis header has no colon\r\n\r\n",
    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
], ids=["garbage", "extra-token", "bad-version", "missing-uri", "header-no-colon", "control-in-uri"])
def test_malformed_request_gets_json_problem(tserver, request_bytes):
    data = raw_exchange(tserver, request_bytes)
    _assert_raw_problem(data, {400, 404, 505})
    # and the server is still fine
    assert tserver.request("GET", "/healthz").status == 200


def test_uri_too_long_is_414_problem(tserver):
    assert_problem(tserver.request("GET", "/films?x=" + "a" * 9000), 414)


def test_headers_too_large_is_problem(tserver):
    resp = tserver.request("GET", "/films", headers={f"X-Big-{i}": "v" * 1000 for i in range(40)})
    assert resp.status in (413, 431), resp
    assert_problem(resp, resp.status)


# -- error shape -------------------------------------------------------------------------------

def test_error_request_id_matches_header(tserver):
    resp = tserver.request("GET", "/films/77777777")
    problem = assert_problem(resp, 404)
    assert resp.header("X-Request-ID"), "no X-Request-ID header"
    assert problem["request_id"] == resp.header("X-Request-ID")


def test_request_ids_are_unique_and_present_on_success(tserver):
    ids = set()
    for _ in range(5):
        resp = tserver.request("GET", "/healthz")
        assert resp.status == 200 and resp.header("X-Request-ID")
        ids.add(resp.header("X-Request-ID"))
    assert len(ids) == 5


def test_untrusted_inbound_request_id_is_not_kept(tserver):
    resp = tserver.request("GET", "/films/88888888", headers={"X-Request-ID": "client-chosen-id"})
    problem = assert_problem(resp, 404)
    assert resp.header("X-Request-ID") != "client-chosen-id"
    assert problem["request_id"] != "client-chosen-id"


# -- the head the transport writes --------------------------------------------------------------

@pytest.mark.parametrize("request_line, status, has_length", [
    ("GET / HTTP/1.1", 200, True),
    ("GET /nope HTTP/1.1", 404, True),
    ("OPTIONS /add_film HTTP/1.1", 204, False),
    ("HEAD / HTTP/1.1", 200, True),
])
def test_reply_has_one_current_date_and_one_true_length(tserver, request_line, status, has_length):
    from email.utils import format_datetime, parsedate_to_datetime
    import datetime
    data = raw_exchange(tserver, f"{request_line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
                        expect_body=not request_line.startswith("HEAD"))
    got, headers, body = parse_raw_response(data)
    assert got == status, data[:300]
    dates = [v for k, v in headers if k.lower() == "date"]
    assert len(dates) == 1, headers
    sent = parsedate_to_datetime(dates[0])
    assert format_datetime(sent, usegmt=True) == dates[0], "not the RFC 9110 IMF-fixdate form"
    assert abs((datetime.datetime.now(datetime.timezone.utc) - sent).total_seconds()) < 5
    lengths = [v for k, v in headers if k.lower() == "content-length"]
    if has_length:
        assert len(lengths) == 1, headers
        if not request_line.startswith("HEAD"):
            assert int(lengths[0]) == len(body) > 0
    else:
        assert lengths == [], headers


# -- HEAD parity -------------------------------------------------------------------------------

IGNORED = {"date", "x-request-id", "ratelimit", "ratelimit-policy", "content-length", "keep-alive"}


def _comparable(resp) -> list[tuple[str, str]]:
    return sorted((k.lower(), v) for k, v in resp.header_list if k.lower() not in IGNORED)


@pytest.mark.parametrize("path", ["/", "/films", "/films?limit=1", "/films/{id}", "/films/random", "/healthz",
                                  "/readyz", "/films/99999999", "/nope"])
def test_head_has_get_headers_and_no_body(tserver, path):
    path = path.format(id=_film_id(tserver))
    get = tserver.request("GET", path)
    head = tserver.request("HEAD", path)
    assert head.status == get.status, (get, head)
    assert head.body == b""
    assert get.header("Content-Length") is not None, "GET should carry Content-Length"
    assert int(get.header("Content-Length")) == len(get.body)
    assert head.header("Content-Length") == str(len(get.body)), (head.header("Content-Length"), len(get.body))
    assert _comparable(head) == _comparable(get)
    # on the wire, not just per http.client: nothing after the head
    data = raw_exchange(tserver, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
                        expect_body=False)
    status, _, rest = parse_raw_response(data)
    assert status == get.status and rest == b"", data[:300]


def test_head_add_film_is_200_without_body(tserver):
    before = snapshot(tserver)
    head = tserver.request("HEAD", "/add_film")
    assert head.status == 200, head
    assert head.body == b""
    assert "POST" in _allow(head), head.header("Allow")
    data = raw_exchange(tserver, b"HEAD /add_film HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                        expect_body=False)
    status, _, rest = parse_raw_response(data)
    assert status == 200 and rest == b""
    assert snapshot(tserver) == before


# -- health ------------------------------------------------------------------------------------

def test_healthz_and_readyz_are_200(server):
    # on an empty catalogue, too
    assert server.request("GET", "/healthz").status == 200
    assert server.request("GET", "/readyz").status == 200
    add_films(server, 1)
    assert server.request("GET", "/readyz").status == 200


# -- connection handling -----------------------------------------------------------------------

def test_keep_alive_serves_several_requests_on_one_connection(tserver):
    conn = tserver.connection()
    try:
        for method, path, status in [("GET", "/", 200), ("GET", "/films/99999999", 404), ("GET", "/?like=x", 400),
                                     ("GET", "/films", 200), ("HEAD", "/", 200), ("GET", "/healthz", 200)]:
            conn.request(method, path)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == status, (method, path, resp.status, body)
    finally:
        conn.close()


def test_pipelined_requests_are_answered_in_order(tserver):
    fid = _film_id(tserver)
    payload = (f"GET /films/{fid} HTTP/1.1\r\nHost: x\r\n\r\n"
               f"GET /films/99999999 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode()
    data = tserver.raw(payload)
    first, sep, _ = data.partition(b"\r\n")
    assert first.startswith(b"HTTP/1.1 200"), data[:200]
    assert data.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 404" in data, data[:600]


def test_success_responses_are_json(tserver):
    for path in ("/", "/films", f"/films/{_film_id(tserver)}", "/films/random"):
        resp = tserver.request("GET", path)
        assert resp.status == 200
        assert (resp.header("Content-Type") or "").split(";")[0].strip() == "application/json", path
        json.loads(resp.body)
    assert_film(tserver.request("GET", "/").json())
