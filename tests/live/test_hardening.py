"""Hostile clients (SPEC §6, second part; issue 13), tried on the real binary as an attacker would.

One host must not deny service to the others (per-client connection cap, deadlines over the whole
request, head and body), and no byte stream may make filmd see a request its sender's proxy did
not see (RFC 9112 §6 framing, bodies on every method, chunked trailers). Every refusal is logged
and counted; signals at the connection cap neither crash nor drop requests in flight.

Loopback is all of 127.0.0.0/8 on Linux: a client socket bound to 127.0.0.2, 127.0.0.3, ... is a
different client to filmd (it listens on 127.0.0.1). Every socket operation has a timeout.
Tests marked "regression guard" pass on today's main by design; every other test fails there.
"""
from __future__ import annotations

import json
import re
import select
import signal
import socket
import threading
import time
from collections import Counter

import pytest

from live_helpers import ModuleServer, assert_no_leak

FILM = b'{"name":"Smuggled","studio":"Desync"}'
FOLLOW_UP = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"  # answered 200


# -- one raw-socket helper: send bytes, read every response until EOF or timeout ------------------

class Reply:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.body[:160]!r}>"


class Exchange:
    def __init__(self, data: bytes, closed: bool, elapsed: float, first_is_head: bool):
        self.data, self.closed, self.elapsed = data, closed, elapsed
        self.replies, self.leftover = parse_replies(data, first_is_head)

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.replies]

    def __repr__(self) -> str:
        return (f"<Exchange closed={self.closed} {self.elapsed:.2f}s replies={self.replies} "
                f"leftover={self.leftover[:120]!r}>")


def parse_replies(data: bytes, first_is_head: bool = False) -> tuple[list[Reply], bytes]:
    """Every complete HTTP/1.x response in `data`, in order, and the bytes left over."""
    replies: list[Reply] = []
    rest = data
    while rest:
        head, sep, after = rest.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"HTTP/1."):
            break
        lines = head.decode("iso-8859-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
        length = next((v for k, v in headers if k.lower() == "content-length"), None)
        chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers)
        if (first_is_head and not replies) or status in (204, 304) or status < 200:
            body, rest = b"", after
        elif length is not None:
            if len(after) < int(length):
                break
            body, rest = after[:int(length)], after[int(length):]
        elif chunked:
            end = after.find(b"\r\n0\r\n\r\n")
            if end < 0:
                break
            body, rest = after[:end], after[end + 7:]
        else:
            body, rest = after, b""
        replies.append(Reply(status, headers, body))
    return replies, rest


def connect(server, source: str | None = None, timeout: float = 3.0) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=timeout,
                                    source_address=(source, 0) if source else None)


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """(bytes, closed): reads until EOF/RST (closed) or `timeout` seconds of total waiting."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk


def read_replies(sock: socket.socket, count: int, timeout: float) -> list[Reply]:
    """Reads until `count` complete responses have arrived, EOF, or `timeout`."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(parse_replies(data)[0]) < count and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return parse_replies(data)[0]


def exchange(server, payload: bytes, *, timeout: float = 2.5, source: str | None = None,
             first_is_head: bool = False) -> Exchange:
    """Sends `payload` at once and reads every response until the server closes (or `timeout`)."""
    started = time.monotonic()
    with connect(server, source, timeout) as sock:
        try:
            sock.sendall(payload)
        except OSError:
            pass  # answered and closed before all was sent: read what came back
        data, closed = read_until_closed(sock, timeout)
    return Exchange(data, closed, time.monotonic() - started, first_is_head)


def is_problem(reply: Reply, status: int) -> dict:
    assert reply.status == status, reply
    assert (reply.header("Content-Type") or "").split(";")[0].strip() == "application/problem+json", reply.headers
    assert_no_leak(reply.body)
    problem = json.loads(reply.body)
    assert problem["status"] == status and problem.get("title") and problem.get("request_id"), problem
    return problem


def wait_until(check, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    return check()


def request_line_for(server, request_id: str, timeout: float = 3.0) -> dict:
    return server.wait_for_log(lambda r: r.get("msg") == "request" and r.get("http.request.id") == request_id,
                               timeout=timeout)


def request_lines(server) -> list[dict]:
    return [r for r in server.log_records() if r.get("msg") == "request"]


def metric_samples(server) -> list[tuple[str, dict, float]]:
    resp = server.request("GET", "/metrics")
    assert resp.status == 200, resp
    samples = []
    for line in resp.body.decode().splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def refused_counts(server) -> Counter:
    """status code -> requests counted under route `_refused` (any method)."""
    counts: Counter = Counter()
    for name, labels, value in metric_samples(server):
        if name == "http_server_request_duration_seconds_count" and labels.get("http_route") == "_refused":
            counts[labels["http_response_status_code"]] += int(value)
    return counts


def per_client_refusals(server) -> float:
    return sum(v for name, labels, v in metric_samples(server)
               if name == "filmd_connections_refused_total" and labels.get("reason") == "per_client")


def film_count(server) -> int:
    resp = server.request("GET", "/films?limit=100")
    assert resp.status == 200, resp
    return len(json.loads(resp.body)["films"])


def post(headers: bytes, body: bytes = FILM, line: bytes = b"POST /films HTTP/1.1") -> bytes:
    return line + b"\r\nHost: x\r\nContent-Type: application/json\r\n" + headers + b"\r\n" + body


def chunked(body: bytes, size: bytes | None = None, trailer: bytes = b"") -> bytes:
    return (size if size is not None else b"%x" % len(body)) + b"\r\n" + body + b"\r\n0\r\n" + trailer + b"\r\n"


L = len(FILM)
CL = b"Content-Length: %d\r\n" % L
TE = b"Transfer-Encoding: chunked\r\n"


@pytest.fixture(scope="module")
def hserver(tmp_path_factory):
    """Default limits, anonymous admin; the catalogue starts empty."""
    with ModuleServer(tmp_path_factory, name="hardening") as server:
        yield server


# -- 1. per-client connection cap ----------------------------------------------------------------

def _served(server, source: str, timeout: float = 2.0) -> bool:
    try:
        with connect(server, source, timeout) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data, _ = read_until_closed(sock, timeout)
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _keep_alive(server, source: str) -> socket.socket:
    """A connection from `source` that has been served one request and stays open."""
    sock = connect(server, source)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    replies = read_replies(sock, 1, 3.0)
    assert [r.status for r in replies] == [200], f"connection from {source}: {replies}"
    return sock


def _closed_without_a_byte(sock: socket.socket, within: float) -> tuple[bool, bytes, float]:
    started = time.monotonic()
    data, closed = read_until_closed(sock, within)
    return closed and data == b"", data, time.monotonic() - started


def test_a_connection_over_the_per_client_cap_is_closed_at_once_and_others_are_served(make_server):
    # max_connections 8 -> per-client cap min(64 default, 8 // 2) = 4.
    server = make_server({"limits": {"max_connections": 8}})
    held = [_keep_alive(server, "127.0.0.2") for _ in range(4)]
    try:
        extra = connect(server, "127.0.0.2")
        ok, data, took = _closed_without_a_byte(extra, within=2.0)
        extra.close()
        assert ok and took < 1.0, f"5th connection from one address: closed={ok} after {took:.2f}s, got {data[:200]!r}"
        assert _served(server, "127.0.0.3"), "another client was not served while 127.0.0.2 sits at its cap"
        assert per_client_refusals(server) == 1
        held.pop().close()  # a slot of 127.0.0.2 frees: it is served again (the close is seen asynchronously)
        assert wait_until(lambda: _served(server, "127.0.0.2"), timeout=3.0), "freed slot not given back"
    finally:
        for sock in held:
            sock.close()


def test_the_per_client_cap_setting_and_the_trusted_proxy_exemption(make_server):
    server = make_server({"limits": {"max_connections": 100, "max_connections_per_client": 2},
                          "server": {"trusted_proxies": ["127.0.0.4"]}})
    held = [_keep_alive(server, "127.0.0.2") for _ in range(2)]
    try:
        extra = connect(server, "127.0.0.2")
        ok, data, took = _closed_without_a_byte(extra, within=2.0)
        extra.close()
        assert ok and took < 1.0, (ok, data[:200], took)
        held += [_keep_alive(server, "127.0.0.4") for _ in range(6)]  # a trusted proxy is exempt
        assert _served(server, "127.0.0.4") and _served(server, "127.0.0.3")
        assert per_client_refusals(server) == 1
    finally:
        for sock in held:
            sock.close()


@pytest.mark.slow
def test_one_host_trickling_bodies_cannot_deny_service_to_another(make_server):
    """The issue's attack: 40 connections from one address, each a complete POST head with
    Content-Length 16000 and then a body byte a second; another address probes /healthz."""
    server = make_server({"limits": {"max_connections": 32}})
    head = (b"POST /films HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 16000\r\n\r\n")
    attackers: list[socket.socket] = []
    closed: set[int] = set()
    for i in range(40):
        try:
            sock = connect(server, "127.0.0.2", timeout=2)
            sock.sendall(head)
            attackers.append(sock)
        except OSError:
            closed.add(i)
            attackers.append(None)
    stop = threading.Event()

    def trickle():
        while not stop.wait(1.0):
            for i, sock in enumerate(attackers):
                if sock is None or i in closed:
                    continue
                try:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable and not sock.recv(4096):
                        closed.add(i)  # closed by the server (a response would be a defect too)
                        continue
                    sock.sendall(b"{")
                except OSError:
                    closed.add(i)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    probes = []
    try:
        finish = time.monotonic() + 5.0
        while time.monotonic() < finish:
            started = time.monotonic()
            probes.append(_served(server, "127.0.0.3", timeout=2.0))
            time.sleep(max(0.0, 0.2 - (time.monotonic() - started)))
        # which attacker connections are still open?
        for i, sock in enumerate(attackers):
            if sock is not None and i not in closed:
                readable, _, _ = select.select([sock], [], [], 0)
                try:
                    if readable and not sock.recv(4096):
                        closed.add(i)
                except OSError:
                    closed.add(i)
    finally:
        stop.set()
        thread.join(3)
    rate = sum(probes) / len(probes)
    still_open = 40 - len(closed)
    print(f"probes from another address: {sum(probes)}/{len(probes)} succeeded ({rate:.0%}); "
          f"attacker connections still open: {still_open}/40")
    try:
        assert rate == 1.0, f"only {rate:.0%} of {len(probes)} probes succeeded under the one-host attack"
        assert still_open <= 16, f"{still_open} of the attacker's 40 connections stay open (cap 16)"
        assert per_client_refusals(server) == 40 - still_open
    finally:
        for sock in attackers:
            if sock is not None:
                sock.close()


# -- 2. deadlines -------------------------------------------------------------------------------

DEADLINES = {"limits": {"header_timeout_seconds": 1, "request_timeout_seconds": 2, "idle_timeout_seconds": 10}}


def test_a_connection_that_sends_nothing_is_closed_at_the_header_deadline(make_server):
    server = make_server({"limits": {"header_timeout_seconds": 1}})
    with connect(server, timeout=4) as sock:
        started = time.monotonic()
        data, closed = read_until_closed(sock, 4.0)
        took = time.monotonic() - started
    assert closed and data == b"", f"silent connection: closed={closed} after {took:.2f}s, got {data[:200]!r}"
    assert 0.8 <= took <= 2.3, f"closed after {took:.2f}s, header deadline 1 s (+1 s sweep)"


def test_a_trickling_head_is_cut_off_at_the_header_deadline(make_server):
    # regression guard: today's header deadline already does this
    server = make_server({"limits": {"header_timeout_seconds": 1}})
    with connect(server, timeout=4) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Drip: ")
        data, closed = b"", False
        while time.monotonic() - started < 4.0 and not closed:
            try:
                sock.sendall(b"a")
            except OSError:
                closed = True
                break
            more, closed = read_until_closed(sock, 0.2)
            data += more
        took = time.monotonic() - started
    assert closed and data == b"", (closed, data[:200])
    assert 0.8 <= took <= 2.5, f"trickling head cut off after {took:.2f}s"


def test_a_trickling_body_gets_408_at_the_request_deadline(make_server):
    server = make_server(DEADLINES)
    with connect(server, timeout=6) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /films HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n")
        data, closed, answered_at = b"", False, None
        while time.monotonic() - started < 6.0 and not closed:
            try:
                sock.sendall(b" ")
            except OSError:
                closed = True
                break
            more, closed = read_until_closed(sock, 0.3)
            if more and answered_at is None:
                answered_at = time.monotonic() - started
            data += more
        if not closed:
            more, closed = read_until_closed(sock, 1.0)
            data += more
    replies, leftover = parse_replies(data)
    assert len(replies) == 1 and not leftover, f"trickling body: {data[:300]!r} (closed={closed})"
    is_problem(replies[0], 408)
    assert "close" in (replies[0].header("Connection") or "").lower(), replies[0].headers
    assert closed, "connection left open after the 408"
    assert 1.9 <= answered_at <= 3.3, f"408 after {answered_at:.2f}s, request deadline 2 s (+1 s sweep)"
    assert film_count(server) == 0


def test_the_request_deadline_counts_from_each_requests_first_byte(make_server):
    # regression guard for the new deadline (fails on today's main only because the key is new):
    # an idle keep-alive connection is the idle timeout's business, and a body that arrives
    # within request_timeout is served even though it takes longer than header_timeout.
    server = make_server(DEADLINES)
    with connect(server, timeout=6) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert [r.status for r in read_replies(sock, 1, 3.0)] == [200]
        time.sleep(2.5)  # idle, longer than both deadlines
        sock.sendall(post(CL + b"Connection: close\r\n", body=b""))
        for i in range(0, L, 4):  # the body over ~1.3 s: past the header deadline, within the request's
            sock.sendall(FILM[i:i + 4])
            time.sleep(1.3 / (L / 4))
        data, closed = read_until_closed(sock, 3.0)
    assert data.startswith(b"HTTP/1.1 201"), data[:300]


# -- 3. framing (RFC 9112 §6), refused before any handler runs ----------------------------------

FRAMING_REFUSED = [  # "guard": today's main already refuses it like this (a regression guard)
    # transfer codings
    ("te-and-cl", post(TE + b"Content-Length: %d\r\n" % len(chunked(FILM)), chunked(FILM)), 400),  # guard
    ("te-chunked-gzip", post(b"Transfer-Encoding: chunked, gzip\r\n", chunked(FILM)), 400),  # guard
    ("te-identity", post(b"Transfer-Encoding: identity\r\n" + CL), 400),  # guard
    ("te-identity-alone", post(b"Transfer-Encoding: identity\r\n"), 400),
    ("te-gzip", post(b"Transfer-Encoding: gzip\r\n"), 400),
    ("te-gzip-chunked", post(b"Transfer-Encoding: gzip, chunked\r\n", chunked(FILM)), 501),
    ("te-chunked-chunked", post(b"Transfer-Encoding: chunked, chunked\r\n", chunked(FILM)), 400),  # guard
    ("te-http10", post(TE, chunked(FILM), line=b"POST /films HTTP/1.0"), 400),
    ("te-split-chunked-gzip", post(TE + b"Transfer-Encoding: gzip\r\n", chunked(FILM)), 400),  # guard
    ("te-split-chunked-chunked", post(TE + TE, chunked(FILM)), 400),  # guard
    ("te-obs-fold", post(b"Transfer-Encoding:\r\n chunked\r\n", chunked(FILM)), 400),
    ("te-space-before-colon", post(b"Transfer-Encoding : chunked\r\n", chunked(FILM)), 400),
    ("te-vertical-tab", post(b"Transfer-Encoding: \x0bchunked\r\n", chunked(FILM)), 400),
    # Content-Length
    ("cl-plus", post(b"Content-Length: +%d\r\n" % L), 400),
    ("cl-minus", post(b"Content-Length: -1\r\n"), 400),  # guard
    ("cl-hex", post(b"Content-Length: 0x%x\r\n" % L), 400),  # guard
    ("cl-two-numbers", post(b"Content-Length: %d %d\r\n" % (L, L)), 400),  # guard
    ("cl-parameter", post(b"Content-Length: %d;x\r\n" % L), 400),  # guard
    ("cl-empty", post(b"Content-Length: \r\n"), 400),  # guard
    ("cl-differing-fields", post(CL + b"Content-Length: %d\r\n" % (L + 1)), 400),
    ("cl-differing-list", post(b"Content-Length: %d, %d\r\n" % (L, L + 1)), 400),  # guard
    ("cl-space-before-colon", post(b"Content-Length : %d\r\n" % L), 400),
    # field syntax
    ("obs-fold", post(CL + b"X-Note: a\r\n b\r\n"), 400),
    ("obs-fold-tab", post(CL + b"X-Note: a\r\n\tb\r\n"), 400),
    ("name-at-sign", post(CL + b"X@Note: a\r\n"), 400),
    ("name-space", post(CL + b"X Note: a\r\n"), 400),
    ("value-nul", post(CL + b"X-Note: a\x00b\r\n"), 400),
    ("value-ctl", post(CL + b"X-Note: a\x01b\r\n"), 400),
    ("value-del", post(CL + b"X-Note: a\x7fb\r\n"), 400),
    ("bare-cr", post(CL + b"X-Note: a\rb\r\n"), 400),  # guard
    ("bare-lf-head", post(CL).replace(b"\r\n", b"\n"), 400),
    ("bare-lf-request-line", b"POST /films HTTP/1.1\nHost: x\r\nContent-Type: application/json\r\n" + CL + b"\r\n" + FILM, 400),
    ("bare-lf-one-field", post(b"X-Note: a\n" + CL), 400),
    ("bare-lf-end-of-head", post(CL)[:-len(FILM) - 2] + b"\n" + FILM, 400),
    # chunk sizes
    ("chunk-size-0x", post(TE, chunked(FILM, b"0x%x" % L)), 400),
    ("chunk-size-plus", post(TE, chunked(FILM, b"+%x" % L)), 400),
    ("chunk-size-leading-space", post(TE, chunked(FILM, b" %x" % L)), 400),
    # RFC 9112 §3.2: exactly one Host in HTTP/1.1 (two could route one request two ways)
    ("no-host", b"POST /films HTTP/1.1\r\nContent-Type: application/json\r\n" + CL + b"\r\n" + FILM, 400),
    ("two-hosts", post(b"Host: y\r\n" + CL), 400),
    # a request line is ASCII: a byte of 0x80 or more in the target is not repaired and passed on
    ("target-high-byte", post(CL, line=b"POST /films?x=\xc3\xa9\xff HTTP/1.1"), 400),
]


@pytest.mark.parametrize("payload,status", [c[1:] for c in FRAMING_REFUSED], ids=[c[0] for c in FRAMING_REFUSED])
def test_bad_framing_is_refused_before_any_handler_and_closes(hserver, payload, status):
    before = film_count(hserver)
    ex = exchange(hserver, payload + FOLLOW_UP)
    assert len(ex.replies) == 1 and not ex.leftover, f"want exactly one response: {ex!r}"
    reply = ex.replies[0]
    problem = is_problem(reply, status)
    assert "close" in (reply.header("Connection") or "").lower(), reply.headers
    assert ex.closed, f"connection left open after the {status}: {ex!r}"
    line = request_line_for(hserver, problem["request_id"])
    assert line["http.route"] in (None, "_refused"), f"a handler saw it: {line}"
    assert line["http.response.status_code"] == status
    assert film_count(hserver) == before


FRAMING_ACCEPTED = [  # regression guards where main already accepts them (marked), else defects
    ("cl-identical-fields", post(CL + CL)),  # guard
    ("cl-identical-list", post(b"Content-Length: %d, %d\r\n" % (L, L))),
    ("te-chunked-capitalised", post(b"Transfer-Encoding: Chunked\r\n", chunked(FILM))),  # guard
    ("te-underscore-is-another-field", post(b"Transfer_Encoding: chunked\r\n" + CL)),  # guard
    ("value-with-tab", post(CL + b"X-Note: a\tb\r\n")),  # guard
    ("chunk-size-uppercase-hex", post(TE, chunked(FILM, b"%X" % L))),  # guard
    # RFC 9112 §7.1.1: a recipient MUST ignore unrecognised chunk extensions (today: 413)
    ("chunk-extension", post(TE, chunked(FILM, b"%x;name=value" % L))),
]


@pytest.mark.parametrize("payload", [c[1] for c in FRAMING_ACCEPTED], ids=[c[0] for c in FRAMING_ACCEPTED])
def test_valid_framing_is_accepted(hserver, payload):
    before = film_count(hserver)
    ex = exchange(hserver, payload + FOLLOW_UP)
    assert ex.statuses == [201, 200], ex
    assert film_count(hserver) == before + 1


def test_an_over_size_chunked_body_is_413(hserver):
    # regression guard: a streamed body over max_body_bytes (16 KiB) is 413, not a parse error
    body = b" " * 20000
    ex = exchange(hserver, post(TE, chunked(body)))
    assert ex.statuses == [413], ex
    is_problem(ex.replies[0], 413)


# -- bodies on every method are never parsed as a further request --------------------------------

def _inner(tag: str) -> bytes:
    return f"GET /smuggled-{tag} HTTP/1.1\r\nHost: x\r\nX-Pad: 0123\r\n\r\n".encode()


BODY_METHODS = [  # (method line, framing); the last four are regression guards (main discards those bodies)
    ("HEAD /", "cl"), ("HEAD /", "chunked"), ("TRACE /", "cl"), ("PROPFIND /", "cl"), ("QUERY /films", "cl"),
    ("FOO /", "cl"), ("FOO /", "chunked"),
    ("GET /healthz", "cl"), ("DELETE /healthz", "cl"), ("OPTIONS /films", "cl"), ("GET /", "chunked"),
]


@pytest.mark.parametrize("line,framing", BODY_METHODS, ids=[f"{m.split()[0]}-{f}" for m, f in BODY_METHODS])
def test_a_request_shaped_body_is_never_a_second_request(hserver, line, framing):
    """The CL.0 desync: `HEAD / HTTP/1.1` + `Content-Length: 44` + a body that is itself a request.
    The body is read and discarded (then a following real request is the only second response)
    or the connection is closed after the one reply."""
    tag = f"{line.split()[0].lower()}-{framing}"
    inner = _inner(tag)
    framed = (b"Content-Length: %d\r\n\r\n" % len(inner) + inner if framing == "cl"
              else TE + b"\r\n" + chunked(inner))
    ex = exchange(hserver, line.encode() + b" HTTP/1.1\r\nHost: x\r\n" + framed + FOLLOW_UP,
                  first_is_head=line.startswith("HEAD"))
    assert not ex.leftover, ex
    assert len(ex.replies) == 1 and ex.closed or len(ex.replies) == 2 and ex.statuses[1] == 200, \
        f"{line} with a request-shaped body: {ex.statuses} {ex!r}"
    time.sleep(0.2)
    smuggled = [r for r in request_lines(hserver) if (r.get("url.path") or "").startswith(f"/smuggled-{tag}")]
    assert not smuggled, smuggled


# -- chunked trailers never become request headers ----------------------------------------------
# regression guards: today's main already drops trailer fields (and never reads them as a request)

def test_a_key_in_a_chunked_trailer_grants_nothing(make_server):
    server = make_server({"auth": {"anonymous_role": "reader"}}, start=False)
    proc = server.cli("keys", "create", "--role", "admin", "--name", "trailer")
    assert proc.returncode == 0, proc
    key = json.loads(proc.stdout)["key"]
    server.start()
    for field in (b"X-API-Key: " + key.encode(), b"Authorization: Bearer " + key.encode()):
        ex = exchange(server, post(TE, chunked(FILM, trailer=field + b"\r\n")) + FOLLOW_UP)
        assert len(ex.replies) in (1, 2) and ex.statuses[0] in (400, 401, 403), ex
        assert len(ex.replies) == 1 and ex.closed or ex.statuses[1] == 200, ex
    assert server.request("GET", "/films").json()["films"] == []


def test_a_forwarded_for_in_a_chunked_trailer_is_not_the_client_address(make_server):
    server = make_server({"server": {"trusted_proxies": ["127.0.0.1"]}})
    ex = exchange(server, post(TE, chunked(FILM, trailer=b"X-Forwarded-For: 203.0.113.9\r\n")) + FOLLOW_UP)
    assert len(ex.replies) == 1 and ex.closed or len(ex.replies) == 2 and ex.statuses[1] == 200, ex
    line = request_line_for(server, ex.replies[0].header("X-Request-ID"))
    assert line["client.address"] == "127.0.0.1", line
    assert "203.0.113.9" not in json.dumps(request_lines(server))


# -- methods filmd does not implement ----------------------------------------------------------

UNIMPLEMENTED = [("QUERY", "/"), ("QUERY", "/films"), ("PROPFIND", "/films"), ("FOO", "/"), ("get", "/")]


@pytest.mark.parametrize("method,path", UNIMPLEMENTED, ids=[f"{m} {p}" for m, p in UNIMPLEMENTED])
def test_an_unimplemented_method_on_a_known_path_is_405_with_allow(hserver, method, path):
    # regression guard without a body (today's main does this); with a body see the desync test
    ex = exchange(hserver, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert len(ex.replies) == 1, ex
    is_problem(ex.replies[0], 405)
    assert "GET" in (ex.replies[0].header("Allow") or ""), ex.replies[0].headers
    ex = exchange(hserver, f"{method} /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert len(ex.replies) == 1, ex
    is_problem(ex.replies[0], 404)


@pytest.mark.parametrize("method", ["QUERY", "PROPFIND"])
def test_an_unimplemented_method_with_a_json_body_is_one_405(hserver, method):
    ex = exchange(hserver, f"{method} /films HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
                           + CL + b"\r\n" + FILM + FOLLOW_UP)
    assert ex.statuses in ([405], [405, 200]) and (ex.closed or len(ex.replies) == 2), ex
    assert "GET" in (ex.replies[0].header("Allow") or ""), ex.replies[0].headers


# -- oversize heads: 414 and 431 whatever the size ----------------------------------------------

OVERSIZE = [
    ("target-20k", b"GET /films?x=" + b"a" * 20 * 1024 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("target-256k", b"GET /films?x=" + b"a" * 256 * 1024 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("field-64k", b"GET /films HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024 + b"\r\n\r\n", 431),
    ("many-fields", b"GET /films HTTP/1.1\r\nHost: x\r\n"
     + b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 1000) for i in range(20)) + b"\r\n", 431),  # guard
]


@pytest.mark.parametrize("payload,status", [c[1:] for c in OVERSIZE], ids=[c[0] for c in OVERSIZE])
def test_an_oversize_head_is_414_or_431(hserver, payload, status):
    ex = exchange(hserver, payload)
    assert ex.replies, ex
    is_problem(ex.replies[0], status)


# -- 4. signals at the connection cap -----------------------------------------------------------

def _fill_to_the_cap(server, count: int) -> list[socket.socket]:
    # max_connections 4 -> per-client cap 2: one connection from each of four addresses
    return [_keep_alive(server, f"127.0.0.{10 + i}") for i in range(count)]


def _assert_clean_log(server):
    lines = list(server.lines)
    records = [json.loads(line) for line in lines if line.strip()]  # every line is JSON (no crash dump)
    errors = [r for r in records if r.get("level") in ("error", "fatal", "critical")]
    assert not errors, errors


def test_sighup_at_the_connection_cap_keeps_serving(make_server):
    # regression guard: today's main survives SIGHUP at the cap (SIGTERM is what crashes it)
    server = make_server({"limits": {"max_connections": 4}})
    held = _fill_to_the_cap(server, 4)
    try:
        server.process.send_signal(signal.SIGHUP)
        server.wait_for_log(lambda r: r.get("msg") == "configuration reloaded")
        held.pop().close()
        assert wait_until(lambda: _served(server, "127.0.0.20"), timeout=5.0), "not served after SIGHUP at the cap"
        assert server.process.poll() is None
    finally:
        for sock in held:
            sock.close()
    assert server.stop() == 0
    _assert_clean_log(server)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_at_the_connection_cap_answers_the_request_in_flight(make_server, workers):
    server = make_server({"limits": {"max_connections": 4},
                          "server": {"workers": workers, "shutdown_grace_seconds": 5}})
    held = _fill_to_the_cap(server, 4)
    try:
        in_flight = held[1]
        # The head, asking for 100 Continue: once that comes back the server holds the head, and
        # the request is in flight (a fixed sleep here lost the race on a loaded machine).
        in_flight.sendall(post(CL + b"Expect: 100-continue\r\n", body=b""))
        in_flight.settimeout(5.0)
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = in_flight.recv(256)
            assert chunk, f"closed before 100 Continue: {interim!r}"
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100"), interim
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        in_flight.sendall(FILM)
        data, _ = read_until_closed(in_flight, 5.0)
        assert data.startswith(b"HTTP/1.1 201"), f"request in flight at SIGTERM: {data[:200]!r}"
        for sock in held:
            sock.close()
        rc = server.process.wait(timeout=10)
        took = time.monotonic() - signalled
    finally:
        for sock in held:
            sock.close()
    assert rc == 0, f"exit {rc}: {server.lines[-8:]}"
    assert took <= 5 + 1, f"exit {took:.1f}s after SIGTERM, grace 5 s"
    _assert_clean_log(server)
    assert any(r.get("msg") == "stopped" for r in server.log_records())


# -- 5. every refusal is logged once and counted -------------------------------------------------

def _streamed_413(server) -> Exchange:
    with connect(server, timeout=4) as sock:
        sock.sendall(post(TE, b""))
        data, closed = b"", False
        for _ in range(40):  # 40 chunks of 256 bytes, a little at a time, past max_body_bytes 1024
            try:
                sock.sendall(b"100\r\n" + b" " * 256 + b"\r\n")
            except OSError:
                break
            time.sleep(0.02)
        more, closed = read_until_closed(sock, 2.0)
        return Exchange(data + more, closed, 0, False)


def _trickled_408(server) -> Exchange:
    with connect(server, timeout=6) as sock:
        sock.sendall(post(b"Content-Length: 100\r\n", b""))
        data, closed, started = b"", False, time.monotonic()
        while not closed and time.monotonic() - started < 5:
            try:
                sock.sendall(b" ")
            except OSError:
                break
            more, closed = read_until_closed(sock, 0.3)
            data += more
        return Exchange(data, closed, 0, False)


REFUSALS = [
    ("413-streamed", {}, _streamed_413, 413),  # guard: today's main logs and counts this one
    ("408", {"request_timeout_seconds": 2}, _trickled_408, 408),
    ("414", {}, lambda s: exchange(s, OVERSIZE[0][1]), 414),
    ("431", {}, lambda s: exchange(s, OVERSIZE[2][1]), 431),
    ("400-framing", {}, lambda s: exchange(s, FRAMING_REFUSED[0][1]), 400),  # guard
    ("501", {}, lambda s: exchange(s, post(b"Transfer-Encoding: gzip, chunked\r\n", chunked(FILM))), 501),
]


@pytest.mark.parametrize("limits,refuse,status", [c[1:] for c in REFUSALS], ids=[c[0] for c in REFUSALS])
def test_every_refusal_is_logged_once_and_counted(make_server, limits, refuse, status):
    server = make_server({"limits": {"max_body_bytes": 1024, "header_timeout_seconds": 1, **limits}})
    before = refused_counts(server)
    ex = refuse(server)
    assert ex.statuses == [status], ex
    problem = is_problem(ex.replies[0], status)
    line = request_line_for(server, problem["request_id"])
    assert line["http.response.status_code"] == status, line
    time.sleep(0.2)
    assert [r["http.response.status_code"] for r in request_lines(server)
            if r["http.response.status_code"] == status] == [status], request_lines(server)
    after = refused_counts(server)
    assert after[str(status)] - before[str(status)] == 1, (before, after)
