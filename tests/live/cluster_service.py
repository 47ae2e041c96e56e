"""A whole filmd cluster on one machine: PostgreSQL, Redis, N filmd nodes and HAProxy in front, every
one a process on a free loopback port (the balancer's may be chosen), tracked by PID, with its data
in one temporary folder, stopped and removed by `stop()`. `make cluster` (scripts/cluster.py) and
the live tests (test_cluster.py) both start it through this class.

    cluster = Cluster(filmd_bin, nodes=3).start()
    cluster.url                      # http://127.0.0.1:PORT, the balancer
    cluster.balancer.request("GET", "/")       # an HTTPEndpoint, as a node is
    cluster.nodes[1].stop(signal.SIGKILL); cluster.start_node(1); cluster.wait_in_rotation({...})
    cluster.stop()
"""
from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import signal
import string
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from filmd_server import FilmdServer, HTTPEndpoint, deep_merge, wait_until
from postgres_service import PostgresService, free_port
from redis_service import RedisService

REPO = Path(__file__).resolve().parents[2]
HAPROXY_TEMPLATE = REPO / "deploy" / "cluster" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_config(listen: str, stats: str, nodes: list[tuple[str, str]]) -> str:
    """deploy/cluster/haproxy.cfg with its three blanks filled: `nodes` is [(name, "host:port")]."""
    servers = "\n".join(f"    server {name} {address}" for name, address in nodes)
    return string.Template(HAPROXY_TEMPLATE.read_text()).substitute(listen=listen, stats=stats, servers=servers)


@functools.cache
def stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """`sig` to that one PID, then SIGKILL if it outlives `timeout`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Cluster:
    def __init__(self, filmd_bin: str, nodes: int = 3, base_config: dict | None = None, port: int = 0,
                 seed_csv: str | None = None, redis: bool = True, log_to_files: bool = False):
        self.filmd_bin = str(Path(filmd_bin).resolve())
        self.root = Path(tempfile.mkdtemp(prefix="filmd-cluster-"))
        os.chmod(self.root, 0o755)  # PostgreSQL's folder inside must be reachable by its user
        self.base_config = base_config or {}
        self.seed_csv = seed_csv
        self.log_to_files = log_to_files
        self.port = port or free_port()
        self.balancer = HTTPEndpoint("127.0.0.1", self.port)  # what clients talk to
        self.stats_port = free_port()
        self.node_names = [f"node{i + 1}" for i in range(nodes)]
        self.node_ports = [free_port() for _ in self.node_names]
        self.postgres: PostgresService | None = None
        self.redis: RedisService | None = None
        self.shared_limits = redis
        self.nodes: list[FilmdServer | None] = [None] * nodes
        self.haproxy: subprocess.Popen | None = None
        self.database_url: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats_url(self) -> str:
        return f"http://127.0.0.1:{self.stats_port}/"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Cluster":
        try:
            self.postgres = PostgresService().start()
            self.database_url = self.postgres.create_database("films")
            if self.shared_limits:
                self.redis = RedisService(self.root / "redis").start()
            for index in range(len(self.nodes)):
                self.start_node(index)
            self._start_haproxy()
            self.wait_in_rotation(set(self.node_names))
        except BaseException:
            self.stop()
            raise
        return self

    def node_config(self, index: int) -> dict:
        workdir = self.root / self.node_names[index]
        config = deep_merge(self.base_config, {
            "server": {"host": "127.0.0.1", "port": self.node_ports[index], "trusted_proxies": ["127.0.0.1/32"]},
            "database": {"url": self.database_url, "path": str(workdir / "unused.db"), "seed_csv": self.seed_csv},
        })
        if self.shared_limits and self.redis:
            config["rate_limits"]["storage"] = self.redis.url
        if self.log_to_files:
            config.setdefault("logging", {})["file"] = str(workdir / "access.log")
        return config

    def start_node(self, index: int) -> FilmdServer:
        """Starts node `index` (again, after a kill: a fresh process on the same port and config)."""
        workdir = self.root / self.node_names[index]
        workdir.mkdir(exist_ok=True)
        env = {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=64"}  # as filmd@.service sets it
        node = FilmdServer(workdir, self.node_config(index), env, binary=self.filmd_bin)
        node.postgres = self.postgres  # node.sql(...) reads the shared database
        try:
            self.nodes[index] = node.start(timeout=60)
        except RuntimeError as error:  # with logging.file, why it stopped is in the file
            log = Path(node.config.get("logging", {}).get("file") or os.devnull)
            raise RuntimeError(f"{self.node_names[index]}: {error} {log.read_text()[-2000:] if log.exists() else ''}")
        return node

    def _start_haproxy(self) -> None:
        config = self.root / "haproxy.cfg"
        addresses = [f"127.0.0.1:{port}" for port in self.node_ports]
        config.write_text(haproxy_config(f"127.0.0.1:{self.port}", f"127.0.0.1:{self.stats_port}",
                                         list(zip(self.node_names, addresses))))
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c: {check.stdout}{check.stderr}")
        with open(self.root / "haproxy.log", "ab") as log:
            self.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        """Everything stopped by PID (the balancer first, the databases last) and the folder removed."""
        stop_process(self.haproxy)
        for node in self.nodes:
            if node is not None:
                try:
                    node.stop()
                except subprocess.TimeoutExpired:
                    pass  # stop() has killed it by then
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.remove()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the balancer's view -----------------------------------------------------------------
    def server_states(self) -> dict[str, str]:
        """node name -> HAProxy's status of it (UP, DOWN, "UP 1/2", ...), from the stats CSV."""
        with urllib.request.urlopen(self.stats_url + ";csv", timeout=5) as response:
            text = response.read().decode().lstrip("# ")
        return {row["svname"]: row["status"] for row in csv.DictReader(io.StringIO(text))
                if row["pxname"] == "nodes" and row["svname"] in self.node_names}

    def wait_in_rotation(self, names: set[str], timeout: float = 30) -> None:
        """Until exactly `names` are UP in the balancer (the others DOWN or on their way)."""
        def up() -> set[str] | None:
            try:
                return {n for n, s in self.server_states().items() if s == "UP"}
            except OSError:  # HAProxy not listening yet
                return None

        wait_until(lambda: up() == names, timeout=timeout, what=f"HAProxy to have exactly {sorted(names)} UP")

    def describe(self) -> dict:
        return {"url": self.url, "console": self.url + "/console", "stats": self.stats_url,
                "nodes": {n: f"127.0.0.1:{p}" for n, p in zip(self.node_names, self.node_ports)},
                "postgres": self.database_url, "redis": self.redis.url if self.redis else None,
                "folder": str(self.root)}
