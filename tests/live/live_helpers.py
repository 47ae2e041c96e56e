"""Shared assertions and small clients for the live suites (no fixtures here; see conftest.py)."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from filmd_server import BASE_CONFIG, FilmdServer, deep_merge

FILM_KEYS = {"id", "name", "studio", "year", "likes", "dislikes"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "request_id"}

# Text that must never leak into an error response.
_LEAKS = [
    re.compile(r"SQL"),
    re.compile(r"sqlite", re.I),
    re.compile(r"/tmp"),
    re.compile(r"\.swift", re.I),
    re.compile(r"Traceback"),
    re.compile(r"Fatal error", re.I),
    re.compile(r"stack ?trace", re.I),
    re.compile(r"\bat 0x[0-9a-f]+", re.I),
    re.compile(r"0x[0-9a-f]{8,}", re.I),
    re.compile(r"^\s*#\d+\s", re.M),
    re.compile(r"<html", re.I),
    re.compile(r"libevent|evhttp", re.I),
]


def assert_no_leak(body: bytes) -> None:
    text = body.decode("utf-8", "replace")
    for pattern in _LEAKS:
        assert not pattern.search(text), f"error body leaks internals ({pattern.pattern}): {text[:500]}"


def assert_problem(resp, status: int) -> dict:
    """`resp` is an RFC 9457 problem with the given status; returns the parsed body."""
    assert resp.status == status, f"expected {status}, got {resp!r}"
    ctype = resp.header("Content-Type") or ""
    assert ctype.split(";")[0].strip().lower() == "application/problem+json", f"Content-Type {ctype!r}: {resp!r}"
    assert_no_leak(resp.body)
    body = json.loads(resp.body)
    assert isinstance(body, dict), body
    missing = PROBLEM_KEYS - body.keys()
    assert not missing, f"problem lacks {missing}: {body}"
    assert body["status"] == status and type(body["status"]) is int, body
    for key in ("type", "title", "detail", "request_id"):
        assert isinstance(body[key], str), f"{key} not a string: {body}"
    assert body["title"] and body["request_id"], body
    return body


def assert_film(film, **expected) -> dict:
    assert isinstance(film, dict), film
    assert set(film.keys()) == FILM_KEYS, f"film keys {sorted(film.keys())}"
    assert type(film["id"]) is int and film["id"] > 0, film
    assert isinstance(film["name"], str) and isinstance(film["studio"], str), film
    assert film["year"] is None or type(film["year"]) is int, film
    assert type(film["likes"]) is int and type(film["dislikes"]) is int, film
    for key, value in expected.items():
        assert film[key] == value, f"{key}: {film[key]!r} != {value!r} in {film}"
    return film


def add_film(server: FilmdServer, name: str, studio: str = "Studio", year: int | None = 2000,
             path: str = "/add_film") -> dict:
    body = {"name": name, "studio": studio}
    if year is not None:
        body["year"] = year
    resp = server.request("POST", path, json_body=body)
    assert resp.status == 201, resp
    return assert_film(resp.json(), name=name, studio=studio, year=year, likes=0, dislikes=0)


def add_films(server: FilmdServer, count: int, prefix: str = "Film") -> list[dict]:
    return [add_film(server, f"{prefix} {i}", f"Studio {i % 7}", 1900 + i) for i in range(count)]


def get_film(server: FilmdServer, film_id: int) -> dict:
    resp = server.request("GET", f"/films/{film_id}")
    assert resp.status == 200, resp
    return assert_film(resp.json())


def list_page(server: FilmdServer, **params) -> tuple[list[dict], str | None]:
    from urllib.parse import urlencode
    query = urlencode({k: v for k, v in params.items() if v is not None})
    resp = server.request("GET", "/films" + (f"?{query}" if query else ""))
    assert resp.status == 200, resp
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("films"), list), body
    for film in body["films"]:
        assert_film(film)
    cursor = body.get("next_cursor")
    assert cursor is None or (isinstance(cursor, str) and cursor), body
    return body["films"], cursor


def all_films(server: FilmdServer, sort: str | None = None, limit: int = 100, max_pages: int = 200) -> list[dict]:
    """Walk every page; the order is the server's."""
    films: list[dict] = []
    cursor = None
    for _ in range(max_pages):
        page, cursor = list_page(server, limit=limit, sort=sort, cursor=cursor)
        films.extend(page)
        if cursor is None:
            return films
    raise AssertionError(f"more than {max_pages} pages")


def snapshot(server: FilmdServer) -> list[dict]:
    return sorted(all_films(server), key=lambda f: f["id"])


def write_csv(path: Path, rows: list[tuple], header=("name", "studio", "year")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def parse_raw_response(data: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Parse the first HTTP/1.x response in `data`: (status, headers, body-after-headers)."""
    assert data, "no response bytes at all"
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, f"incomplete response head: {data[:300]!r}"
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    assert parts[0].startswith("HTTP/1."), f"bad status line {lines[0]!r}"
    status = int(parts[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return status, headers, rest


def header_of(headers: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name.lower()]
    return ", ".join(values) if values else None


class ModuleServer:
    """A FilmdServer shared by the tests of one module (started once: much faster for table tests)."""

    def __init__(self, tmp_path_factory, overrides: dict | None = None, name: str = "filmd-module"):
        workdir = tmp_path_factory.mktemp(name)
        self.server = FilmdServer(workdir, deep_merge(BASE_CONFIG, overrides or {}))

    def __enter__(self) -> FilmdServer:
        return self.server.start()

    def __exit__(self, *exc) -> None:
        self.server.stop()


def raw_exchange(server: FilmdServer, payload: bytes, timeout: float = 5.0, chunks: list[bytes] | None = None,
                 shutdown_write: bool = False, expect_body: bool = True) -> bytes:
    """Send raw bytes (then optional further chunks) and read ONE response: its head and, when
    Content-Length says so, its body; stops early at EOF. Returns what was read.
    With expect_body=False (HEAD), it returns the head plus whatever else arrives within 0.3 s."""
    import socket
    import time

    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(payload)
        for chunk in chunks or []:
            try:
                sock.sendall(chunk)
            except OSError:
                break  # the server may answer and close before the whole body is sent
        if shutdown_write:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep and not expect_body:
                sock.settimeout(0.3)
                try:
                    while True:
                        more = sock.recv(65536)
                        if not more:
                            break
                        data += more
                except (socket.timeout, ConnectionResetError):
                    pass
                return data
            if sep:
                match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
                if match and len(rest) >= int(match.group(1)):
                    return data
                if not match and re.search(rb"(?im)^transfer-encoding:\s*chunked", head) and rest.endswith(b"0\r\n\r\n"):
                    return data
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data
