"""bench/run --cluster: filmd behind HAProxy (scripts/cluster.py's Cluster, the same as
`make cluster`) with 1 node and then N nodes on one PostgreSQL, wrk against the balancer, and
against node a directly for what the balancer costs. Prints req/s, p50, p99 per row and checks
that the likes PostgreSQL stored lie between those acknowledged and those sent.

    bench/run --cluster [--filmd-bin PATH] [--nodes 1,3] [--duration 10] [--connections 50]

Every process is on this machine: on 2 cores, more nodes share the same CPUs with PostgreSQL,
HAProxy and wrk, so the figures show the cost of the extra hop and of the shared database, not
how far more machines would scale. Compare numbers only within one run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "scripts"))
from cluster import Cluster  # noqa: E402
from run import NEVER, BenchError, run_wrk  # noqa: E402  (one way to drive wrk)

WORKLOADS = ("get_root", "like_random")
# The real middleware, as bench/run measures it: limits consulted on every request, never reached.
OVERRIDES = {"rate_limits": {"default": NEVER, "routes": {"GET /": NEVER, "POST /add_film": NEVER}},
             "logging": {"level": "warning"}}


def total_likes(cluster: Cluster) -> int:
    return int(cluster.postgres.sql("SELECT coalesce(sum(likes), 0) FROM films", database="filmd").strip())


def measure(cluster: Cluster, url: str, workload: str, args, films: int, log: Path) -> dict:
    run_wrk(url, workload, args.warmup, args, films, None, log)
    before = total_likes(cluster)
    result = run_wrk(url, workload, args.duration, args, films, None, log)
    stored = total_likes(cluster) - before
    if workload == "like_random":
        errors = sum(result["errors"].values())
        acknowledged = result["requests"] - errors
        if stored < acknowledged:
            raise BenchError(f"{url}: {stored} likes stored, fewer than the {acknowledged} acknowledged")
        result["stored"] = stored
    return result


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--filmd-bin", default=str(BENCH.parent / ".build" / "release" / "filmd"))
    ap.add_argument("--nodes", type=lambda s: [int(n) for n in s.split(",")], default=[1, 3])
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--connections", type=int, default=50)
    args = ap.parse_args(argv)
    rows = []
    for count in args.nodes:
        with Cluster(nodes=count, filmd_bin=args.filmd_bin, config_overrides=OVERRIDES) as cluster:
            films = int(cluster.postgres.sql("SELECT count(*) FROM films", database="filmd").strip())
            log = cluster.root / "wrk.log"
            for workload in WORKLOADS:
                for target, url in (("haproxy", cluster.url), ("node a", cluster.nodes[0].url)):
                    result = measure(cluster, url, workload, args, films, log)
                    rows.append((count, target, workload, result))
    print(f"{'nodes':>5}  {'target':<8} {'workload':<12} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7}  likes stored")
    for count, target, workload, r in rows:
        stored = f"{r['stored']} (acknowledged {r['requests'] - sum(r['errors'].values())})" if "stored" in r else ""
        print(f"{count:>5}  {target:<8} {workload:<12} {r['rps']:>9.0f} {r['latency_us']['p50'] / 1000:>7.2f} "
              f"{r['latency_us']['p99'] / 1000:>7.2f}  {stored}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
