"""bench/run --limiter redis: filmd with its rate limits in memory vs in Redis, same run.

Alternating rounds (memory, redis, redis, memory, ...) on this shared, noisy machine; each
measured run is the usual one of run.py (fresh database copy, warm-up, wrk, write check). A
redis-server of the bench's own runs on a free loopback port (tests/live/redis_service.py),
flushed before each run. Printed: median req/s and wrk p99 per limiter and workload, the ratio
(target ≥ 0.7 on GET /), the added p99 (target ≤ 1 ms), and the round trip per decision,
p50/p99, read from filmd's own `filmd_ratelimit_storage_round_trip_seconds` histogram, and
Redis's own time per decision and decisions per script call (`INFO commandstats`, reset before
each run, over the run's warm-up and measurement alike).
"""
from __future__ import annotations

import re
import statistics
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "live"))
from redis_service import RedisService  # noqa: E402

HISTOGRAM = "filmd_ratelimit_storage_round_trip_seconds"


def round_trip_quantiles(base_url: str) -> dict:
    """p50 and p99 (ms) of the round-trip histogram, interpolated within the bucket, and the count."""
    text = urllib.request.urlopen(base_url + "/metrics", timeout=5).read().decode()
    buckets = [(float("inf") if le == "+Inf" else float(le), float(v))
               for le, v in re.findall(rf'^{HISTOGRAM}_bucket{{le="([^"]+)"}} (\S+)$', text, re.M)]
    fallbacks = sum(float(v) for v in re.findall(r'^filmd_ratelimit_storage_fallbacks_total\{[^}]*\} (\S+)$', text, re.M))
    decisions = sum(float(v) for v in re.findall(r'^filmd_ratelimit_storage_decisions_total\{storage="redis"\} (\S+)$', text, re.M))
    count = buckets[-1][1] if buckets else 0.0
    out = {"count": int(count), "fallbacks": int(fallbacks), "decisions": int(decisions)}
    for name, q in (("p50_ms", 0.5), ("p99_ms", 0.99)):
        target, lower, below = q * count, 0.0, 0.0
        for bound, cumulative in buckets:
            if cumulative >= target and count:
                upper = bound if bound != float("inf") else lower
                share = (target - below) / (cumulative - below) if cumulative > below else 1.0
                out[name] = (lower + (upper - lower) * share) * 1000
                break
            lower, below = bound, cumulative
    return out


def script_costs(redis, decisions: int) -> dict:
    """Redis's µs per decision and decisions per script call, from `INFO commandstats`."""
    stats = redis.command("INFO", "commandstats")
    found = re.findall(r"^cmdstat_eval(?:sha)?:calls=(\d+),usec=(\d+)", stats, re.M)
    calls, usec = sum(int(c) for c, _ in found), sum(int(u) for _, u in found)
    return {"redis_us": usec / decisions if decisions else 0.0, "per_call": decisions / calls if calls else 0.0}


def compare(args, ctx: dict, measure, log) -> tuple[str, list]:
    redis = RedisService(ctx["out"] / "redis").start()
    results = []
    try:
        for round_number in range(args.rounds):
            order = ("memory", "redis") if round_number % 2 == 0 else ("redis", "memory")
            for workload in args.workloads:
                for limiter in order:
                    redis.flush()
                    redis.command("CONFIG", "RESETSTAT")
                    ctx["limiter_storage"] = redis.url if limiter == "redis" else None
                    log(f"round {round_number + 1}/{args.rounds}: {workload} with the {limiter} limiter")
                    result = measure("filmd", workload, args.films[0], args.workers[0], args, ctx)
                    result.server = f"filmd-{limiter}"
                    if limiter == "redis":
                        storage = result.middleware.setdefault("storage", {})
                        storage.update(script_costs(redis, storage.get("decisions", 0)))
                    log(f"  {result.rps:.0f} req/s, p99 {result.p99_ms:.2f} ms"
                        + (f", round trip p50 {result.middleware['storage'].get('p50_ms', 0):.3f} ms"
                           f" p99 {result.middleware['storage'].get('p99_ms', 0):.3f} ms" if limiter == "redis" else ""))
                    results.append(result)
    finally:
        ctx["limiter_storage"] = None
        redis.stop()
    return render(results, args), results


def render(results: list, args) -> str:
    lines = [f"filmd rate limiter: memory vs Redis, {args.rounds} alternating rounds, medians "
             f"(wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, workers={args.workers[0]})",
             f"{'workload':<12} {'memory req/s':>13} {'redis req/s':>12} {'ratio':>6} {'p99 mem':>8} {'p99 redis':>10} "
             f"{'added p99':>10} {'RTT p50':>8} {'RTT p99':>8} {'fallbacks':>9} {'redis µs/req':>12} {'req/call':>8}"]
    for workload in args.workloads:
        mem = [r for r in results if r.workload == workload and r.server == "filmd-memory" and not r.error]
        red = [r for r in results if r.workload == workload and r.server == "filmd-redis" and not r.error]
        if not mem or not red:
            lines.append(f"{workload:<12} (a run failed)")
            continue
        m_rps, r_rps = statistics.median(r.rps for r in mem), statistics.median(r.rps for r in red)
        m_p99, r_p99 = statistics.median(r.p99_ms for r in mem), statistics.median(r.p99_ms for r in red)
        rtt50 = statistics.median(r.middleware["storage"].get("p50_ms", 0) for r in red)
        rtt99 = statistics.median(r.middleware["storage"].get("p99_ms", 0) for r in red)
        fallbacks = sum(r.middleware["storage"].get("fallbacks", 0) for r in red)
        redis_us = statistics.median(r.middleware["storage"].get("redis_us", 0) for r in red)
        per_call = statistics.median(r.middleware["storage"].get("per_call", 0) for r in red)
        lines.append(f"{workload:<12} {m_rps:>13.0f} {r_rps:>12.0f} {r_rps / m_rps:>6.2f} {m_p99:>7.2f}ms {r_p99:>8.2f}ms "
                     f"{r_p99 - m_p99:>8.2f}ms {rtt50:>6.3f}ms {rtt99:>6.3f}ms {fallbacks:>9} {redis_us:>12.1f} {per_call:>8.1f}")
    lines.append("targets: GET / with Redis >= 0.7x memory req/s; added p99 <= 1 ms")
    return "\n".join(lines)
