"""A throwaway redis-server for the live suites: on a free loopback port, no persistence, its
working folder a temporary directory, started and stopped by PID. Never a server that happens
to run on the machine. Python's standard library only (a small RESP2 client below).

    redis = RedisService().start()          # redis-server --port P --bind 127.0.0.1 --save '' ...
    redis.url                               # "redis://127.0.0.1:P/0" (for rate_limits.storage)
    redis.command("SET", "k", "1")          # one command on a fresh connection -> decoded reply
    conn = redis.connect()                  # a lasting connection (two of them act as two nodes)
    conn.command("EVALSHA", sha, "1", "k")  # an error reply comes back as a RedisError instance
    redis.script_flush()                    # forgets every loaded script (EVALSHA -> NOSCRIPT)
    thread = redis.debug_sleep(0.5)         # DEBUG SLEEP in a thread: the server stalls; join() it
    redis.kill()                            # SIGKILL, as a crash would; the port stays ours
    redis.restart()                         # start again on the same port (empty: nothing saved)
    redis.stop(); redis.remove()            # SIGTERM (SIGKILL if it lingers); then the folder

Replies decode as RESP2 does: simple strings and bulk strings to `str` (None for a nil bulk),
integers to `int`, arrays to `list`, errors to `RedisError` (returned, not raised, so a test can
assert on `NOSCRIPT`). `RedisService.command` raises RuntimeError on an error reply; `Connection.command`
returns it.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from postgres_service import free_port

SERVER = os.environ.get("REDIS_SERVER", "redis-server")


class RedisError(str):
    """An error reply, e.g. `NOSCRIPT No matching script...`; `.code` is its first word."""

    @property
    def code(self) -> str:
        return self.split(" ", 1)[0]


class Connection:
    """One RESP2 connection to the server (a node's connection, in tests with several)."""

    def __init__(self, port: int, timeout: float = 10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def command(self, *args) -> object:
        """Sends one command (arguments as str, bytes or int) and reads its reply."""
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        frame = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(frame)
        return self._reply()

    def _reply(self) -> object:
        line = self.reader.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body.decode()
        if kind == b"-":
            return RedisError(body.decode())
        if kind == b":":
            return int(body)
        if kind == b"$":
            size = int(body)
            return None if size < 0 else self.reader.read(size + 2)[:-2].decode()
        if kind == b"*":
            count = int(body)
            return None if count < 0 else [self._reply() for _ in range(count)]
        raise ConnectionError(f"unexpected reply from redis: {line!r}")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class RedisService:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="filmd-redis-"))
        self.log = self.root / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.poll() is None else None

    def start(self) -> "RedisService":
        # DEBUG is off by default since Redis 7; `local` allows it from loopback (debug_sleep).
        command = [SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(self.root), "--logfile", str(self.log),
                   "--daemonize", "no", "--enable-debug-command", "local"]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.log}")
            try:
                if self.command("PING") == "PONG":
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server not answering on port {self.port}; see {self.log}")

    def connect(self) -> Connection:
        return Connection(self.port)

    def command(self, *args) -> object:
        """One command on a fresh connection; raises RuntimeError on an error reply."""
        conn = self.connect()
        try:
            reply = conn.command(*args)
        finally:
            conn.close()
        if isinstance(reply, RedisError):
            raise RuntimeError(f"redis: {reply}")
        return reply

    def script_flush(self) -> None:
        self.command("SCRIPT", "FLUSH")

    def debug_sleep(self, seconds: float) -> threading.Thread:
        """Stalls the whole server for `seconds` (DEBUG SLEEP, from a thread); join() the thread."""
        thread = threading.Thread(target=self.command, args=("DEBUG", "SLEEP", str(seconds)), daemon=True)
        thread.start()
        return thread

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM; SIGKILL if it has not exited within 10 s."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.pid is None:
            return
        os.kill(self.process.pid, sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> "RedisService":
        """Stops it if it runs, then starts it again on the same port (empty, scripts gone)."""
        self.stop()
        return self.start()

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)
