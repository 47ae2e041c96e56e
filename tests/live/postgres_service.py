"""A throwaway PostgreSQL cluster for the live suites: `initdb` into a temporary folder, the
server on a free loopback port, stopped by PID and removed afterwards. Never a server that
happens to run on the machine.

    pg = PostgresService().start()
    url = pg.create_database("films_1")      # postgres://filmd@127.0.0.1:PORT/films_1
    pg.restart(mode="fast"); pg.kill(); pg.start(); pg.stop()

As root (CI), the server runs as the `postgres` user through `runuser`, as PostgreSQL refuses
to run as root. The role `filmd` owns every database created here; local connections are
trusted (the cluster lives only as long as the test session, on 127.0.0.1).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresService:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="filmd-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log = self.root / "server.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:  # the postgres user must reach and own its folders
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres", "postgres")
        self._initialised = False

    def _run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)
        return subprocess.run(command, check=check, timeout=timeout, capture_output=True, text=True)

    def _initdb(self) -> None:
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8")
        self._run("mkdir", "-p", str(self.socket_dir))
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.socket_dir}'\nmax_connections = 200\n"
                       "fsync = on\nsynchronous_commit = on\n")
        self._initialised = True

    def start(self) -> "PostgresService":
        if not self._initialised:
            self._initdb()
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        if not self._role_exists():
            self.sql("CREATE ROLE filmd LOGIN CREATEDB")
        return self

    def _role_exists(self) -> bool:
        return self.sql("SELECT 1 FROM pg_roles WHERE rolname = 'filmd'").strip() == "1"

    @property
    def pid(self) -> int | None:
        """The postmaster's PID while it runs (first line of postmaster.pid)."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    def sql(self, statement: str, database: str = "postgres", user: str = "postgres") -> str:
        """Runs one statement with psql; its unaligned output."""
        done = subprocess.run([str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", user,
                               "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", statement],
                              check=True, capture_output=True, text=True, timeout=60)
        return done.stdout

    def url(self, database: str = "filmd", user: str = "filmd") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database owned by `filmd`; its URL."""
        self.sql(f'CREATE DATABASE "{name}" OWNER filmd')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def restart(self, mode: str = "fast") -> None:
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "restart",
                  "-l", str(self.log))

    def stop(self, mode: str = "fast") -> None:
        """Stops the server (by pg_ctl, then by PID if it lingers); the data stay until `remove`."""
        pid = self.pid
        if pid is None:
            return
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop", check=False)
        self._wait_gone(pid)

    def kill(self) -> None:
        """SIGKILL to the postmaster, as a crash would; its backends exit on their own."""
        pid = self.pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid)
            # The backends notice the postmaster's death and exit; wait until the port is free again.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and subprocess.run(
                    ["pgrep", "-f", f"{self.data}"], capture_output=True).returncode == 0:
                time.sleep(0.05)

    @staticmethod
    def _wait_gone(pid: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)
