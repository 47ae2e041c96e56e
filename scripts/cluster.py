#!/usr/bin/env python3
"""A filmd cluster on one machine (SPEC §9): a throwaway PostgreSQL, N filmd nodes and HAProxy in
front of them, all on free loopback ports, all children of this process, stopped by PID.

    make cluster                      # or: scripts/cluster.py --nodes 3 [--filmd-bin PATH]

prints the balancer's URL and stops everything on Ctrl-C (SIGINT) or SIGTERM. The live tests
(tests/live/test_cluster.py) start the same thing through the `Cluster` class:

    with Cluster(nodes=3) as cluster:
        cluster.url; cluster.nodes[1].kill(); cluster.nodes[1].start(); cluster.balancer.server_states()

Every node reads the repository's config.json with its own port, the shared database.url and the
balancer (127.0.0.1) in server.trusted_proxies; every node has seed_csv: the first to start seeds
the empty catalogue under an advisory lock, the others find it full (PostgresCatalogue.seedIfEmpty).
Stdlib only.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "live"))
# One way to start PostgreSQL and to wait, for the tests and for this launcher.
from filmd_server import deep_merge, wait_until  # noqa: E402
from postgres_service import PostgresService, free_port  # noqa: E402

HAPROXY_TEMPLATE = REPO / "deploy" / "cluster" / "haproxy.cfg"
NODE_NAMES = "abcdefghijklmnopqrstuvwxyz"


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Node:
    """One filmd process; its JSON log lines go to `log_path` (kept across restarts)."""

    def __init__(self, name: str, workdir: Path, config: dict, filmd_bin: str):
        self.name = name
        self.port = config["server"]["port"]
        self.workdir = workdir
        self.log_path = workdir / "filmd.log"
        self.filmd_bin = filmd_bin
        workdir.mkdir(parents=True)
        self.config_path = workdir / f"{name}.json"
        self.config_path.write_text(json.dumps(config, indent=2))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Node":
        # filmd reads every FILMD_* variable as configuration: none of ours may leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("FILMD_")}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([self.filmd_bin, "serve", "--config", str(self.config_path)],
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            cwd=self.workdir, env=env)
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"node {self.name} exited {self.process.returncode}: {self.log_path.read_text()[-2000:]}")
            return http_status(self.url + "/readyz") == 200
        wait_until(ready, timeout, f"node {self.name} ready")

    def kill(self) -> None:
        """SIGKILL, as a crash would; no draining."""
        stop_process(self.process, signal.SIGKILL)

    def stop(self) -> None:
        stop_process(self.process)

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by kill -9
        return records


class Balancer:
    """HAProxy from deploy/cluster/haproxy.cfg in front of `servers` (name -> port), run as
    `haproxy -db` (in the foreground, our child), with an admin socket to ask for their states."""

    def __init__(self, root: Path, servers: dict[str, int], port: int | None = None):
        self.root = root
        self.servers = servers
        self.port = port or free_port()
        self.stats_socket = root / "haproxy.sock"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Balancer":
        lines = "".join(f"    server {name} 127.0.0.1:{port}\n" for name, port in self.servers.items())
        config = HAPROXY_TEMPLATE.read_text().replace("bind @BIND@", f"bind 127.0.0.1:{self.port}")
        (self.root / "haproxy.cfg").write_text(config.replace("\n@SERVERS@\n", "\n" + lines))
        # A second file, so that the shipped template stays as a deployment would use it.
        (self.root / "stats.cfg").write_text(f"global\n    stats socket {self.stats_socket} mode 600 level admin\n")
        with open(self.root / "haproxy.log", "ab") as log:
            self.process = subprocess.Popen(["haproxy", "-db", "-f", str(self.root / "haproxy.cfg"),
                                             "-f", str(self.root / "stats.cfg")],
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self) -> dict[str, str]:
        """Each node's state as HAProxy sees it: "UP", "DOWN", "UP 1/2", ..."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "filmd" and row.get("svname") not in ("FRONTEND", "BACKEND"):
                states[row["svname"]] = row["status"]
        return states

    def wait_in_rotation(self, names: list[str], timeout: float = 20) -> None:
        def all_up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited {self.process.returncode}: {(self.root / 'haproxy.log').read_text()}")
            try:
                states = self.server_states()
            except OSError:
                return False
            return all(states.get(name) == "UP" for name in names)
        wait_until(all_up, timeout, f"HAProxy to send traffic to {names}")


class Cluster:
    def __init__(self, nodes: int = 3, filmd_bin: str | None = None, config_overrides: dict | None = None,
                 seed_csv: Path | None = REPO / "data" / "films.csv"):
        # Absolute: each node runs in its own folder.
        self.filmd_bin = os.path.abspath(filmd_bin or os.environ.get("FILMD_BIN", str(REPO / ".build" / "debug" / "filmd")))
        self.root = Path(tempfile.mkdtemp(prefix="filmd-cluster-"))
        self.node_count = nodes
        self.config_overrides = config_overrides or {}
        self.seed_csv = seed_csv
        self.port = free_port()
        self.postgres: PostgresService | None = None
        self.database_url = ""
        self.nodes: list[Node] = []
        self.balancer: Balancer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def node_config(self, port: int) -> dict:
        base = json.loads((REPO / "config.json").read_text())
        node = {
            "server": {"host": "127.0.0.1", "port": port, "trusted_proxies": ["127.0.0.1"]},
            "database": {"url": self.database_url, "seed_csv": str(self.seed_csv) if self.seed_csv else None},
            # Rate limits are each node's own ("memory"): N nodes admit N times one node's allowance.
            # REDIS: once rate_limits.storage exists (SPEC §9), set it here to the cluster's Redis URL.
            "rate_limits": {},
        }
        return deep_merge(deep_merge(base, node), self.config_overrides)

    def start(self) -> "Cluster":
        try:
            self.postgres = PostgresService().start()
            self.database_url = self.postgres.create_database("filmd")
            for index in range(self.node_count):
                name = NODE_NAMES[index]
                self.nodes.append(Node(name, self.root / name, self.node_config(free_port()), self.filmd_bin))
            for node in self.nodes:  # together: seeding and migrations are under advisory locks
                node.start()
            for node in self.nodes:
                node.wait_ready()
            self.balancer = Balancer(self.root, {node.name: node.port for node in self.nodes}, self.port).start()
            self.balancer.wait_in_rotation([node.name for node in self.nodes])
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
        for node in self.nodes:
            node.stop()
        if self.postgres is not None:
            self.postgres.remove()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the cluster the way Ctrl-C does


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3, choices=range(1, len(NODE_NAMES) + 1), metavar="N")
    parser.add_argument("--filmd-bin", default=None, help="default: $FILMD_BIN or .build/debug/filmd")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    # Also when started in the background, where SIGINT arrives ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cluster = Cluster(nodes=args.nodes, filmd_bin=args.filmd_bin)
    try:
        cluster.start()
        print(f"filmd cluster: {cluster.url}/  (console: {cluster.url}/console)", flush=True)
        for node in cluster.nodes:
            print(f"  node {node.name}: {node.url}  log {node.log_path}", flush=True)
        print(f"  PostgreSQL: {cluster.database_url}\n  HAProxy admin socket: {cluster.balancer.stats_socket}\n"
              "Ctrl-C stops everything.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        print("cluster stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
