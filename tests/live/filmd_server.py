"""Start the real filmd binary on a free loopback port and talk HTTP to it.

The live suites use this instead of any in-process fake: a real process, a real socket, a real
SQLite file in a temporary folder.
"""
from __future__ import annotations

import copy
import http.client
import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FILMD_BIN = os.environ.get("FILMD_BIN", str(REPO / ".build" / "debug" / "filmd"))

# Limits that never trigger, so that suites not about rate limiting are not rate limited.
BASE_CONFIG = {
    "server": {"host": "127.0.0.1", "port": 0},
    "database": {"seed_csv": None},
    "rate_limits": {"enabled": False},
    # Every suite connects from 127.0.0.1: suites not about the per-client connection cap are
    # not capped by it either (under ThreadSanitizer, closes of aborted connections lag behind).
    "limits": {"max_connections_per_client": 512},
    "auth": {"anonymous_role": "admin"},
    "logging": {"level": "info"},
}


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def wait_until(check, timeout: float = 5.0, what: str = "condition"):
    """Returns `check()` once it is truthy, for states filmd shows outside its stdout (a log
    file, a socket, a counter): looked at every 20 ms, failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class Response:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.body = body

    def header(self, name: str) -> str | None:
        """The value of a header (several joined by ', '), matched case-insensitively."""
        values = self.headers_all(name)
        return ", ".join(values) if values else None

    def headers_all(self, name: str) -> list[str]:
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:200]!r}>"


class HTTPEndpoint:
    """Plain HTTP/1.1 to host:port: a filmd node, or the load balancer in front of several."""

    def __init__(self, host: str, port: int | None):
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connection(self, source_address: str | None = None, timeout: float = 10.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            self.host, self.port, timeout=timeout,
            source_address=(source_address, 0) if source_address else None,
        )

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                json_body=None, source_address: str | None = None) -> Response:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        conn = self.connection(source_address)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.reason, resp.getheaders(), data)
        finally:
            conn.close()

    def raw(self, payload: bytes, timeout: float = 5.0) -> bytes:
        """Send raw bytes and read until the server closes or the timeout passes."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(payload)
            chunks = []
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except socket.timeout:
                pass
            return b"".join(chunks)


class FilmdServer(HTTPEndpoint):
    def __init__(self, workdir: Path, config: dict, env: dict | None = None, args: list[str] | None = None,
                 binary: str = FILMD_BIN):
        self.binary = binary
        self.workdir = workdir
        self.config = config
        self.config.setdefault("database", {}).setdefault("path", str(workdir / "films.db"))
        self.db_path = Path(self.config["database"]["path"])
        self.config_path = workdir / "config.json"
        self.config_path.write_text(json.dumps(self.config, indent=2))
        # filmd treats every FILMD_* variable as configuration: pass only the test's own.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("FILMD_")}
        self.env = {**inherited, **(env or {})}
        self.args = args or []
        self.lines: list[str] = []  # every stdout line, raw
        self._arrived = threading.Condition()  # notified with each line added to `lines`
        self._stdout_closed = False
        self._lines_q: queue.Queue[str] = queue.Queue()
        self.process: subprocess.Popen | None = None
        super().__init__(self.config.get("server", {}).get("host", "127.0.0.1"), None)
        self.postgres = None  # the PostgresService holding database.url, when that is set

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> "FilmdServer":
        self.process = subprocess.Popen(
            [self.binary, "serve", "--config", str(self.config_path), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, cwd=self.workdir,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        log_file = self.config.get("logging", {}).get("file")
        if log_file:
            threading.Thread(target=self._follow, args=(Path(log_file),), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines_q.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise RuntimeError(f"filmd exited {self.process.returncode}: {self.lines}")
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("msg") == "listening":
                self.port = int(record["server.port"])
                return self
        raise RuntimeError(f"filmd did not report listening in {timeout}s: {self.lines}")

    def _pump(self) -> None:
        assert self.process and self.process.stdout
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._arrived:
                self.lines.append(line)
                self._arrived.notify_all()
            self._lines_q.put(line)
        with self._arrived:
            self._stdout_closed = True  # nothing more will come
            self._arrived.notify_all()

    def _follow(self, path: Path) -> None:
        """With logging.file set, the start-up lines are in the file: look there too."""
        offset = 0
        while self.port is None and (self.process is None or self.process.poll() is None):
            if path.exists():
                data = path.read_bytes()[offset:]
                offset += len(data)
                for line in data.decode("utf-8", "replace").splitlines():
                    self._lines_q.put(line)
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log_records(self) -> list[dict]:
        """Every stdout line parsed as JSON (a line that is not JSON fails the caller's test)."""
        return [json.loads(line) for line in list(self.lines) if line.strip()]

    def mark(self) -> int:
        """The number of stdout lines so far: pass it as `after` to look only at later lines."""
        return len(self.lines)

    def wait_for_log(self, predicate, timeout: float = 5.0, after: int = 0) -> dict:
        """The first JSON stdout line from index `after` on that satisfies `predicate`, as soon as
        filmd has written it (woken by each new line, no polling); fails after `timeout`."""
        deadline = time.monotonic() + timeout
        seen = after
        with self._arrived:
            while True:
                for line in self.lines[seen:]:
                    seen += 1
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and predicate(record):
                        return record
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._stdout_closed and seen == len(self.lines)):
                    raise AssertionError(f"no matching log line in {timeout}s: {self.lines[after:][-5:]}")
                self._arrived.wait(min(remaining, 0.5))

    def wait_for_request_log(self, request_id: str, timeout: float = 5.0) -> dict:
        """The request line of the request with this X-Request-ID."""
        return self.wait_for_log(lambda r: r.get("msg") == "request" and r.get("http.request.id") == request_id, timeout)

    # -- the database --------------------------------------------------------------------------
    def sql(self, statement: str) -> list[list[str]]:
        """One statement against this server's database, SQLite file or PostgreSQL alike: the
        rows, each value as text. Fixed SQL only (no parameters): keep it portable."""
        if self.postgres is None:
            with sqlite3.connect(self.db_path) as db:
                return [[str(value) for value in row] for row in db.execute(statement).fetchall()]
        database = self.config["database"]["url"].rsplit("/", 1)[1]
        output = self.postgres.sql(statement, database)
        return [line.split("|") for line in output.splitlines()]

    def same_database(self, **overrides) -> dict:
        """The `database` config of another server on this server's database (file or PostgreSQL)."""
        return {"path": str(self.db_path), "url": self.config["database"].get("url"), **overrides}

    # -- CLI ---------------------------------------------------------------------------------
    def cli(self, *args: str, input: bytes | None = None, check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.binary, *args, "--config", str(self.config_path)],
            input=input, capture_output=True, env=self.env, cwd=self.workdir, check=check, timeout=60,
        )
