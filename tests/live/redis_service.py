"""A real redis-server for the live tests, started and stopped by PID on a free loopback port.

    redis = RedisService(tmp_dir).start()   # waits until it answers PING
    redis.url                                # "redis://127.0.0.1:PORT/0", for rate_limits.storage
    redis.command("DBSIZE")                  # one command through redis-cli, its output as text
    redis.flush()                            # FLUSHALL (between tests)
    redis.kill()                             # SIGKILL, as a crash; start() again on the same port
    redis.restart()                          # kill + start: no data survives, scripts flushed
    redis.sleep_in_background(0.5)           # DEBUG SLEEP: Redis answers nothing for that long
    redis.stop()                             # SIGTERM, waits for the PID

Nothing is saved (`--save '' --appendonly no`); the working directory is the given temp dir.
Only the process this class started is ever signalled.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisService:
    def __init__(self, directory: Path, port: int | None = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisService":
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--daemonize", "no", "--loglevel", "warning",
             "--enable-debug-command", "local"],
            stdout=open(self.directory / "redis.log", "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while self.ping() != "PONG":
            assert self.process.poll() is None, (self.directory / "redis.log").read_text()
            assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
            time.sleep(0.02)
        return self

    def command(self, *args: str, timeout: float = 10) -> str:
        proc = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), *args],
                              capture_output=True, timeout=timeout, text=True)
        return proc.stdout.strip()

    def ping(self) -> str:
        try:
            return self.command("PING", timeout=2)
        except subprocess.TimeoutExpired:
            return ""

    def flush(self) -> None:
        assert self.command("FLUSHALL") == "OK"

    def sleep_in_background(self, seconds: float) -> threading.Thread:
        """DEBUG SLEEP in a thread of the test: Redis is unresponsive for `seconds` from about now."""
        thread = threading.Thread(target=self.command, args=("DEBUG", "SLEEP", str(seconds)), daemon=True)
        thread.start()
        return thread

    def kill(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def restart(self) -> "RedisService":
        self.kill()
        return self.start()

    def stop(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.process = None
