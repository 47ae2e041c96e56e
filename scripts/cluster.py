#!/usr/bin/env python3
"""A filmd cluster on this machine, or the balancer's configuration for one on several.

    scripts/cluster.py run [--nodes 3] [--port 8080] [--filmd-bin .build/debug/filmd]
        PostgreSQL, Redis, N filmd nodes and HAProxy on loopback ports (tests/live/cluster_service.py,
        the same start as the live tests'), the sample films loaded once, the URLs printed;
        Ctrl-C or SIGTERM stops every process by its PID and removes the temporary folder.
    scripts/cluster.py haproxy-config --listen 0.0.0.0:80 --stats 127.0.0.1:8404 \\
        --node node1=10.0.0.11:3000 --node node2=10.0.0.12:3000 ...
        deploy/cluster/haproxy.cfg filled in, on stdout (for /etc/haproxy/haproxy.cfg).

Standard library only.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "live"))
from cluster_service import Cluster, haproxy_config  # noqa: E402


def run(args) -> int:
    base = json.loads((REPO / "config.json").read_text())  # the development defaults, as `make run`
    cluster = Cluster(str(args.filmd_bin), nodes=args.nodes, base_config=base, port=args.port,
                      seed_csv=str(REPO / "data" / "films.csv"), log_to_files=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"starting PostgreSQL, {'Redis, ' if cluster.shared_limits else ''}{args.nodes} filmd nodes and HAProxy "
          f"in {cluster.root} ...", flush=True)
    cluster.start()
    try:
        about = cluster.describe()
        print(f"\nfilmd cluster: {about['url']}   (console: {about['console']})")
        print(f"  balancer stats: {about['stats']}")
        for name, address in about["nodes"].items():
            print(f"  {name}: http://{address}   log: {cluster.root / name / 'access.log'}")
        print(f"  PostgreSQL: {about['postgres']}")
        print(f"  Redis: {about['redis'] or 'not used: this filmd has no rate_limits.storage (limits per node)'}")
        print("Ctrl-C stops everything.", flush=True)
        while not stop.wait(1):
            gone = [name for name, node in zip(cluster.node_names, cluster.nodes) if node.process.poll() is not None]
            if cluster.haproxy.poll() is not None or gone:
                print(f"stopped by itself: {', '.join(gone) or 'haproxy'}; shutting down", file=sys.stderr)
                return 1
        return 0
    finally:
        print("stopping ...", flush=True)
        cluster.stop()


def print_haproxy_config(args) -> int:
    nodes = [tuple(node.split("=", 1)) for node in args.node]
    if any(len(node) != 2 for node in nodes):
        sys.exit("--node takes NAME=HOST:PORT")
    print(haproxy_config(args.listen, args.stats, nodes), end="")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="a cluster on loopback ports until Ctrl-C")
    r.add_argument("--nodes", type=int, default=3)
    r.add_argument("--port", type=int, default=8080, help="the balancer's port (0: any free port)")
    r.add_argument("--filmd-bin", type=Path, default=REPO / ".build" / "debug" / "filmd")
    h = sub.add_parser("haproxy-config", help="deploy/cluster/haproxy.cfg for the given nodes")
    h.add_argument("--listen", default="0.0.0.0:80")
    h.add_argument("--stats", default="127.0.0.1:8404")
    h.add_argument("--node", action="append", required=True, metavar="NAME=HOST:PORT")
    args = ap.parse_args()
    return run(args) if args.command == "run" else print_haproxy_config(args)


if __name__ == "__main__":
    sys.exit(main())
