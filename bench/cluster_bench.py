"""bench/run --cluster N: GET /, likes and the mixed load through HAProxy with N nodes and with one,
beside one node without a balancer, in the same run, on the same PostgreSQL database.

One cluster (tests/live/cluster_service.py, as `make cluster` and the live tests start it) of N
nodes. For each workload, in this order: wrk -> HAProxy with the N nodes in rotation; the nodes
but the first are stopped (SIGTERM: they drain and leave the rotation) and wrk -> HAProxy with one
node; wrk -> that node's own port. Then the stopped nodes are started again for the next workload.
Every run has its write check (acked <= growth <= sent, from PostgreSQL) and, through the balancer,
each node's share of the requests (HAProxy's per-server totals).
"""
from __future__ import annotations

import csv
import io
import json
import os
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "live"))
from cluster_service import Cluster  # noqa: E402
from filmd_server import wait_until  # noqa: E402
from postgres_bench import PGDatabase  # noqa: E402

WORKLOADS = ("get_root", "like_random", "mixed")


def node_stats(cluster: Cluster, column: str) -> dict[str, int]:
    """One column of HAProxy's per-server stats (stot: requests sent so far; scur: in flight now)."""
    with urllib.request.urlopen(cluster.stats_url + ";csv", timeout=5) as response:
        rows = csv.DictReader(io.StringIO(response.read().decode().lstrip("# ")))
        return {row["svname"]: int(row[column] or 0) for row in rows if row["svname"] in cluster.node_names}


def settled(cluster: Cluster, db: PGDatabase, bench):
    """The database once no request is left in flight through the balancer (wrk's last ones at
    its cut still reach a node after wrk has gone) and the last writes have landed."""
    wait_until(lambda: not any(node_stats(cluster, "scur").values()), timeout=30, what="the balancer to be idle")
    return bench.settled_snapshot(db)


def cpu_seconds(pids: list[int]) -> float:
    """user + system CPU time of these processes so far (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def processes(cluster: Cluster) -> dict[str, list[int]]:
    """The PIDs of each part: the running nodes, HAProxy, PostgreSQL's postmaster and its backends, Redis."""
    postmaster = cluster.postgres.pid
    backends = [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit() and _parent(d) == postmaster]
    return {"nodes": [n.process.pid for n in cluster.nodes if n and n.process.poll() is None],
            "haproxy": [cluster.haproxy.pid], "postgres": [postmaster, *backends],
            "redis": [cluster.redis.process.pid] if cluster.redis else []}


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None


def measure(cluster: Cluster, setup: str, url: str, workload: str, films: int, args, bench) -> dict:
    db = PGDatabase(cluster.postgres, "films")
    wrk_log = cluster.root / f"wrk-{workload}-{setup.replace(' ', '_')}.txt"
    if args.warmup > 0:
        bench.run_wrk(url, workload, args.warmup, args, films, None, wrk_log)
    before, served_before = settled(cluster, db, bench), node_stats(cluster, "stot")
    parts = processes(cluster)
    cpu_before = {part: cpu_seconds(pids) for part, pids in parts.items()}
    w = bench.run_wrk(url, workload, args.duration, args, films, None, wrk_log)
    cpu = {part: cpu_seconds(pids) - cpu_before[part] for part, pids in parts.items()}
    after, served_after = settled(cluster, db, bench), node_stats(cluster, "stot")
    shares = {n: served_after[n] - served_before[n] for n in cluster.node_names}
    result = {"workload": workload, "setup": setup, "rps": w["rps"], "p50_ms": w["latency_us"]["p50"] / 1000,
              "p99_ms": w["latency_us"]["p99"] / 1000, "errors": w["errors"],
              "write_check": bench.write_check(workload, w, before, after),
              "per_node": {n: s for n, s in shares.items() if s} if "HAProxy" in setup else {},
              # CPU time per request of each part, in microseconds (all parts share the same cores)
              "cpu_us_per_request": {part: 1e6 * t / max(1, w["requests"]) for part, t in cpu.items()}}
    bench.log(f"  {workload:<12} {setup:<18} {result['rps']:>8.0f} req/s  p99 {result['p99_ms']:.2f} ms  "
              f"writes {'ok' if result['write_check']['ok'] else 'FAIL'}")
    return result


def load_films(cluster: Cluster, films: int, bench) -> None:
    csv_path = cluster.root / "films.csv"
    bench.write_films_csv(csv_path, films)
    done = cluster.nodes[0].cli("import", str(csv_path))
    if done.returncode != 0:
        raise bench.BenchError(f"filmd import into the cluster failed: {done.stderr[-2000:]!r}")
    cluster.postgres.sql("VACUUM ANALYZE", "films")


def run(args, bench) -> int:
    """`bench` is bench/run.py's module: its wrk runner, write check, config and helpers."""
    films = args.films[0]
    config = bench.filmd_config(0, Path("unused.db"), Path("unused.log"), args.workers[0], anonymous_editor=True)
    cluster = Cluster(str(args.filmd), nodes=args.cluster, base_config=config, log_to_files=True)
    bench.log(f"cluster: {args.cluster} nodes, PostgreSQL, {'Redis, ' if cluster.shared_limits else ''}HAProxy")
    results = []
    try:
        cluster.start()
        load_films(cluster, films, bench)
        first, others = cluster.nodes[0], range(1, args.cluster)
        for workload in args.workloads:
            results.append(measure(cluster, f"HAProxy {args.cluster} nodes", cluster.url, workload, films, args, bench))
            if args.cluster > 1:
                for index in others:
                    cluster.nodes[index].stop()
                cluster.wait_in_rotation({cluster.node_names[0]})
                results.append(measure(cluster, "HAProxy 1 node", cluster.url, workload, films, args, bench))
            results.append(measure(cluster, "1 node, direct", first.base_url, workload, films, args, bench))
            for index in others:
                cluster.start_node(index)
            cluster.wait_in_rotation(set(cluster.node_names))
    except (bench.BenchError, RuntimeError, AssertionError, OSError) as error:
        bench.log(f"cluster run failed: {error}")
        return 1
    finally:
        cluster.stop()
    table = render(results, args, films)
    print(table)
    (args.out / "results.json").write_text(json.dumps({"cluster": args.cluster, "films": films, "results": results},
                                                      indent=2))
    (args.out / "results.txt").write_text(table + "\n")
    return 0 if all(r["write_check"]["ok"] for r in results) else 1


def render(results: list[dict], args, films: int) -> str:
    lines = [f"filmd cluster, {films} films on PostgreSQL, wrk -t{args.threads} -c{args.connections} "
             f"-d{args.duration:g}s, server.workers={args.workers[0]}, one machine ({len(os.sched_getaffinity(0))} CPUs)",
             f"{'workload':<12} {'setup':<18} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'vs direct':>9}  "
             f"{'nodes':>5} {'lb':>5} {'pg':>5} {'redis':>5}  {'writes':<6} requests per node",
             f"{'':<12} {'':<18} {'':>8} {'':>7} {'':>7} {'':>9}  {'(CPU µs per request)':>23}"]
    direct = {r["workload"]: r["rps"] for r in results if r["setup"] == "1 node, direct"}
    for r in results:
        base = direct.get(r["workload"])
        versus = f"{r['rps'] / base:.2f}x" if base else "-"
        shares = " ".join(f"{n}={s}" for n, s in r["per_node"].items())
        cpu = r["cpu_us_per_request"]
        lines.append(f"{r['workload']:<12} {r['setup']:<18} {r['rps']:>8.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
                     f"{versus:>9}  {cpu['nodes']:>5.0f} {cpu['haproxy']:>5.0f} {cpu['postgres']:>5.0f} {cpu['redis']:>5.0f}  "
                     f"{'ok' if r['write_check']['ok'] else 'FAIL':<6} {shares}")
    return "\n".join(lines)
