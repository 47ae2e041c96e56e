#!/usr/bin/env python3
"""filmd vs the C reference server, side by side, in one run.

    bench/run                                   # everything: install, build, 4 workloads x 2 servers
    bench/run --quick                           # 2 s runs, 1 s warm-up, 10 000 films: checks the setup
    bench/run --filmd-bin /path/to/filmd        # use that binary instead of `swift build -c release`
    bench/run --scaling                         # GET / on 1 000 vs 1 000 000 films
    bench/run --workers 1,2                     # filmd server.workers (and evfilm --threads) 1 and 2
    bench/run --workloads get_root,like_random --duration 20
    bench/run --plot [SVG]                      # chart the last run (see --out) as SVG
    bench/run --db postgres                     # filmd on PostgreSQL beside filmd on SQLite (postgres_bench.py)
    bench/run --limiter redis [--rounds 3]      # filmd's limiter in memory vs in Redis (bench/limiter.py)
    bench/run --cluster 3                       # HAProxy + 3 nodes, + 1 node, and 1 node direct (cluster_bench.py)

What one run does:
 1. installs what is missing (wrk, gcc/make, libevent-dev, libsqlite3-dev; apt-get, idempotent;
    --no-install to skip),
 2. builds the C reference (../shared/bench/reference, or $FILMD_REFERENCE_DIR) into .build/evfilm
    and filmd with `swift build -c release --product filmd` (unless --filmd-bin),
 3. creates a database of N films for each server (default 100 000; the reference with its own
    make_db.py, filmd with `filmd import` of a CSV of the same rows) and an editor API key for filmd,
 4. for each workload and server: a fresh copy of that database, the server started on a free
    loopback port, a warm-up (3 s), the measured wrk run (-t1 -c50 -d10s), the peak RSS (VmHWM),
    SIGTERM, and the write check,
 5. prints the table (req/s, p50, p99, peak RSS, filmd/reference ratios), the write checks and the
    issue-5 targets, and writes bench/out/<time>/results.json + results.txt.

filmd runs with its real middleware: rate limiter on with limits that never trigger, CORS with an
allowed Origin sent on every request, an editor API key checked on every request, security headers,
the JSON access log written to a file. The reference does its equivalents (its own limiter, CORS *,
a buffered access log).

Write check. wrk stops on a clock, so up to one request per connection is in flight when it stops:
the server may commit it although wrk never sees the answer. So for each write kind the database
must grow by at least the acknowledged writes (no acknowledged write lost) and at most the writes
sent (nothing invented): acked <= growth <= sent. Where the server's access log says which
requests were answered 2xx (both servers for adds, the reference and a filmd that logs the query
string for likes), the growth over the server's whole life must equal that count exactly.

Exit status: 0 when every server ran and every write check passed (missed performance targets are
reported, not failed), 1 otherwise.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import cluster_bench
from postgres_bench import PGDatabase, render_pg, start_cluster, template
import limiter

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WRK_DIR = BENCH / "wrk"
DEFAULT_REFERENCE_DIR = Path(os.environ.get("FILMD_REFERENCE_DIR", REPO.parent / "shared" / "bench" / "reference"))

WORKLOADS = {  # name -> (wrk script, description)
    "get_root": ("get_root.lua", "GET /"),
    "like_random": ("like_random.lua", "GET /?like=<random id>"),
    "add_film": ("add_film.lua", "POST /add_film"),
    "mixed": ("mixed.lua", "90% GET /, 9% like, 1% add"),
}
SERVERS = ("reference", "filmd", "filmd-pg")  # filmd-pg: filmd with database.url (--db postgres)
BENCH_ORIGIN = "https://bench.example"
NEVER = "1000000000 per minute"  # a limit that is consulted on every request but never reached

# The same rows as the reference's make_db.py, so both servers serve the same catalogue.
STUDIOS = [
    "Ealing", "Hammer", "Gainsborough", "Pinewood", "Shepperton",
    "Elstree", "Toho", "Shochiku", "Nikkatsu", "Daiei",
    "UFA", "Pathe", "Gaumont", "Cinecitta", "Mosfilm",
    "Lenfilm", "Barrandov", "Svensk Filmindustri", "Nordisk", "Studio Ghibli",
]

# Issue 5, item 2.
TARGETS = {"get_root": 0.9, "like_random": 1.5, "add_film": 1.0}
P99_MAX_RATIO = 1.5
RSS_MAX_MIB = 24.0
SCALING_MAX_DROP = 0.10


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# setup: tools, builds


def sudo_prefix() -> list[str]:
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        return ["sudo"]
    raise BenchError("need root or sudo to install packages (or install them yourself, or --no-install)")


def apt_install(packages: list[str]) -> None:
    if not packages:
        return
    if not shutil.which("apt-get"):
        raise BenchError(f"missing {' '.join(packages)} and no apt-get here: install them yourself")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*sudo_prefix(), "apt-get", "install", "-y", "--no-install-recommends", *packages]
    log("installing " + " ".join(packages))
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run([*sudo_prefix(), "apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def ensure_tools(need_reference: bool, install: bool) -> None:
    missing = []
    if not shutil.which("wrk"):
        missing.append("wrk")
    if need_reference:
        if not (shutil.which("gcc") or shutil.which("cc")):
            missing.append("gcc")
        if not shutil.which("make"):
            missing.append("make")
        if not Path("/usr/include/event2/http.h").exists():
            missing.append("libevent-dev")
        if not Path("/usr/include/sqlite3.h").exists():
            missing.append("libsqlite3-dev")
    if missing:
        if not install:
            raise BenchError(f"missing: {' '.join(missing)} (run without --no-install, or install them)")
        apt_install(missing)


def build_reference(ref_dir: Path) -> Path:
    if not (ref_dir / "evfilm.c").exists():
        raise BenchError(f"C reference not found in {ref_dir} (set FILMD_REFERENCE_DIR or --reference-dir, "
                         "or run --servers filmd)")
    out = REPO / ".build" / "evfilm"
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"building the C reference -> {out.relative_to(REPO)}")
    subprocess.run(["make", "-s", "-C", str(ref_dir), f"OUT={out}"], check=True, stdout=subprocess.DEVNULL)
    return out


def build_filmd() -> Path:
    if not shutil.which("swift"):
        raise BenchError("swift not found: install a Swift toolchain or pass --filmd-bin PATH")
    # As `make release`: the Swift runtime linked in statically (6 MiB less resident memory).
    log("building filmd: swift build -c release --static-swift-stdlib --product filmd")
    build = [str(REPO / "scripts" / "swift-build-locked"), "build", "-c", "release", "--static-swift-stdlib"]
    subprocess.run([*build, "--product", "filmd"], cwd=REPO, check=True)
    bin_dir = subprocess.run([*build, "--show-bin-path"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.strip()
    return Path(bin_dir) / "filmd"


# ---------------------------------------------------------------------------------------------
# processes and databases


def server_env() -> dict[str, str]:
    """The environment for filmd: no FILMD_* variables from the caller's shell.

    filmd reads every FILMD_* variable as configuration and refuses unknown keys, so a stray
    FILMD_BENCH_API_KEY (meant for wrk) would stop it from starting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FILMD_")}


# What deploy/systemd/filmd.service sets: 64 cached malloc chunks per size and thread instead of
# glibc's 7. GET / 78.0k -> 75.2k instructions a request, 48.8k -> 50.7k req/s (BENCHMARKS.md
# item 31); 66.5k -> 65.9k measured again (item 36). The loader reads it before main, so filmd
# is started with it rather than setting it.
FILMD_GLIBC_TUNABLES = "glibc.malloc.tcache_count=64"


def filmd_env() -> dict[str, str]:
    """server_env() plus the malloc tunable filmd is deployed with (the reference runs without)."""
    return {**server_env(), "GLIBC_TUNABLES": FILMD_GLIBC_TUNABLES}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Snapshot:
    rows: int
    likes: int
    dislikes: int
    max_id: int

    def minus(self, other: "Snapshot") -> dict:
        return {"rows": self.rows - other.rows, "likes": self.likes - other.likes,
                "dislikes": self.dislikes - other.dislikes}


def snapshot(db: Path | PGDatabase) -> Snapshot:
    if isinstance(db, PGDatabase):
        return Snapshot(*db.totals())
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = con.execute("SELECT count(*), coalesce(sum(likes), 0), coalesce(sum(dislikes), 0), "
                          "coalesce(max(id), 0) FROM films").fetchone()
        return Snapshot(*map(int, row))
    finally:
        con.close()


def settled_snapshot(db: Path, timeout: float = 10.0) -> Snapshot:
    """A snapshot once the writes still in flight after wrk stopped have landed (two equal reads)."""
    last = snapshot(db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.15)
        now = snapshot(db)
        if now == last:
            return now
        last = now
    return last


def write_films_csv(path: Path, n: int) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "studio", "year"])
        for i in range(1, n + 1):
            w.writerow(["Film %06d" % i, STUDIOS[(7 * i) % len(STUDIOS)], ""])


def checkpoint(db: Path) -> None:
    con = sqlite3.connect(str(db))
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def copy_db(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(str(dst) + suffix)
    shutil.copyfile(src, dst)


def films_columns(db: Path) -> list[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[1] for r in con.execute("PRAGMA table_info(films)")]
    finally:
        con.close()


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def vm_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS in KiB from /proc/PID/status."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    return out


class Server:
    """One server process on a free loopback port."""

    def __init__(self, kind: str, argv: list[str], port: int, ready_path: str, workdir: Path,
                 access_log: Path, env: dict[str, str]):
        self.kind, self.argv, self.port, self.ready_path = kind, argv, port, ready_path
        self.workdir, self.access_log, self.env = workdir, access_log, env
        self.output = workdir / f"{kind}.out"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "Server":
        self._out = self.output.open("ab")
        self.proc = subprocess.Popen(self.argv, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.kind} exited with {self.proc.returncode} at start; "
                                 f"output:\n{self.tail()}")
            if http_status(self.url + self.ready_path) == 200:
                return self
            time.sleep(0.1)
        self.stop()
        raise BenchError(f"{self.kind} did not become ready on {self.url}{self.ready_path} in {timeout:.0f}s:\n"
                         f"{self.tail()}")

    def tail(self, n: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.output.read_text(errors="replace").splitlines()[-n:])
        return ""

    def stop(self, timeout: float = 30.0) -> int | None:
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.kind} ignored SIGTERM for {timeout:.0f}s: killing it")
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        return self.proc.returncode


def probe_middleware(url: str, api_key: str | None) -> dict:
    """One GET / as the benchmark sends it: which of the middleware's marks does the answer carry?"""
    headers = {"Origin": BENCH_ORIGIN}
    if api_key:
        headers["X-API-Key"] = api_key
    req = urllib.request.Request(url + "/", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, h = resp.status, resp.headers
    except urllib.error.HTTPError as e:
        status, h = e.code, e.headers
    except OSError as e:
        return {"error": str(e)}
    return {
        "status": status,
        "cors": h.get("Access-Control-Allow-Origin") in (BENCH_ORIGIN, "*"),
        "ratelimit_headers": bool(h.get("RateLimit-Policy") or h.get("RateLimit")),
        "security_headers": h.get("X-Content-Type-Options") == "nosniff" and bool(h.get("Content-Security-Policy")),
        "request_id": bool(h.get("X-Request-ID")),
        "api_key_sent": bool(api_key),
    }


# ---------------------------------------------------------------------------------------------
# wrk


RESULT_RE = re.compile(r"^FILMD_BENCH_RESULT (\{.*\})\s*$", re.M)


def run_wrk(url: str, workload: str, seconds: float, args, films: int, api_key: str | None,
            log_path: Path) -> dict:
    script = WRK_DIR / WORKLOADS[workload][0]
    env = {**os.environ, "FILMD_BENCH_FILMS": str(films), "FILMD_BENCH_ORIGIN": BENCH_ORIGIN}
    env.pop("FILMD_BENCH_API_KEY", None)
    if api_key:
        env["FILMD_BENCH_API_KEY"] = api_key
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(seconds))}s",
           "--timeout", "10s", "--latency", "-s", str(script), url]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 120)
    with log_path.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n{res.stdout}{res.stderr}\n")
    m = RESULT_RE.search(res.stdout)
    if res.returncode != 0 or not m:
        raise BenchError(f"wrk failed ({res.returncode}) on {url}: {res.stderr.strip() or res.stdout[-500:]}")
    out = json.loads(m.group(1))
    out["rps"] = out["requests"] / (out["duration_us"] / 1e6) if out["duration_us"] else 0.0
    return out


# ---------------------------------------------------------------------------------------------
# access logs: the server's own count of answered writes


REF_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')


def count_logged_writes(kind: str, path: Path) -> dict:
    """2xx writes the server logged: {"likes": n|None, "rows": n|None, "lines": n, "bad_lines": n}."""
    likes = rows = lines = bad = 0
    decisions: dict[str, int] = {}
    likes_known = kind == "reference"
    if not path.exists():
        return {"likes": None, "rows": None, "lines": 0, "bad_lines": 0, "decisions": {}}
    with path.open(errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            lines += 1
            if kind == "reference":
                m = REF_LINE.search(line)
                if not m:
                    bad += 1
                    continue
                method, target, status = m["method"], m["target"], int(m["status"])
            else:
                try:
                    rec = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                if "http.response.status_code" not in rec:
                    continue  # start-up / shutdown / event lines
                decision = str(rec.get("ratelimit.decision"))
                decisions[decision] = decisions.get(decision, 0) + 1
                method = rec.get("http.request.method", "")
                status = int(rec.get("http.response.status_code") or 0)
                path_ = rec.get("url.path") or rec.get("http.route") or ""
                query = rec.get("url.query")
                if query is not None:
                    likes_known = True
                target = path_ + ("?" + query if query else "")
            if not 200 <= status < 300:
                continue
            path_only, _, query = target.partition("?")
            if method == "POST" and path_only in ("/add_film", "/films"):
                rows += 1
            elif method == "GET" and path_only == "/" and re.search(r"(^|&)like=\d", query):
                likes += 1
    return {"likes": likes if likes_known else None, "rows": rows, "lines": lines, "bad_lines": bad,
            "decisions": decisions}


# ---------------------------------------------------------------------------------------------
# one measurement


@dataclass
class Result:
    workload: str
    server: str
    films: int
    workers: int
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    peak_rss_kib: int = 0
    wrk: dict = field(default_factory=dict)
    warmup: dict = field(default_factory=dict)
    write_check: dict = field(default_factory=dict)
    middleware: dict = field(default_factory=dict)
    exit_code: int | None = None
    error: str | None = None


def write_check(workload: str, w: dict, before: Snapshot, after: Snapshot) -> dict:
    sent = w["sent"]
    grew = after.minus(before)
    if w.get("static"):  # get_root: no writes at all
        ok = grew == {"rows": 0, "likes": 0, "dislikes": 0}
        return {"ok": ok, "grew": grew, "detail": "no writes expected" + ("" if ok else ": database changed")}
    sent_total = sent["get"] + sent["like"] + sent["add"]
    acked_total = w["requests"] - w["errors"]["status"]
    unacked = max(0, sent_total - acked_total)  # in flight at the cut, failed, or not 2xx/3xx
    checks, ok = {}, True
    for kind, col in (("like", "likes"), ("add", "rows")):
        lo, hi = max(0, sent[kind] - unacked), sent[kind]
        good = lo <= grew[col] <= hi
        ok &= good
        checks[col] = {"acked_at_least": lo, "grew": grew[col], "sent": hi, "ok": good}
    if grew["dislikes"] != 0:
        ok = False
    return {"ok": ok, "grew": grew, "checks": checks, "unacknowledged": unacked,
            "errors": w["errors"], "detail": "acked <= growth <= sent"}


def measure(kind: str, workload: str, films: int, workers: int, args, ctx: dict) -> Result:
    res = Result(workload, kind, films, workers)
    run_dir: Path = ctx["out"] / f"{workload}-{films}-w{workers}-{kind}"
    run_dir.mkdir(parents=True, exist_ok=True)
    if kind == "filmd-pg":
        db = ctx["db"][(kind, films)].copy(f"run_{workload}_{films}_w{workers}")
    else:
        db = run_dir / "films.db"
        copy_db(ctx["db"][(kind, films)], db)
    access_log = run_dir / "access.log"
    port = free_port()
    if kind == "reference":
        argv = [str(ctx["evfilm"]), "--host", "127.0.0.1", "--port", str(port), "--db", str(db),
                "--access-log", str(access_log), "--threads", str(workers)]
        server = Server(kind, argv, port, "/", run_dir, access_log, server_env())
        api_key = None
    else:
        config = filmd_config(port, db, access_log, workers, not ctx["api_keys"].get(kind))
        if ctx.get("limiter_storage"):
            config["rate_limits"]["storage"] = ctx["limiter_storage"]
        (run_dir / "config.json").write_text(json.dumps(config, indent=2))
        argv = [str(ctx["filmd"]), "serve", "--config", str(run_dir / "config.json")]
        server = Server(kind, argv, port, "/readyz", run_dir, access_log, filmd_env())
        api_key = ctx["api_keys"].get(kind)
    wrk_log = run_dir / "wrk.txt"
    s0 = snapshot(db)
    server.start()
    try:
        res.middleware = probe_middleware(server.url, api_key)
        if args.warmup > 0:
            res.warmup = run_wrk(server.url, workload, args.warmup, args, films, api_key, wrk_log)
        s1 = settled_snapshot(db)
        res.wrk = run_wrk(server.url, workload, args.duration, args, films, api_key, wrk_log)
        mem = vm_status(server.proc.pid)
        res.peak_rss_kib = mem.get("VmHWM", 0)
        if ctx.get("limiter_storage"):
            res.middleware["storage"] = limiter.round_trip_quantiles(server.url)
        s2 = settled_snapshot(db)
    finally:
        res.exit_code = server.stop()
    s3 = snapshot(db)
    w = res.wrk
    res.rps = w["rps"]
    res.p50_ms = w["latency_us"]["p50"] / 1000
    res.p99_ms = w["latency_us"]["p99"] / 1000
    check = write_check(workload, w, s1, s2)
    check["after_stop_extra"] = s3.minus(s2)  # must be zero: everything was committed before
    logged = count_logged_writes(kind, access_log)
    life = s3.minus(s0)
    exact = {}
    for col in ("likes", "rows"):
        if logged[col] is not None:
            exact[col] = {"logged_2xx": logged[col], "grew": life[col], "ok": logged[col] == life[col]}
    check["server_log"] = {"exact": exact, "lines": logged["lines"], "non_parsable_lines": logged["bad_lines"]}
    res.middleware["access_log_lines"] = logged["lines"]
    res.middleware["ratelimit_decisions"] = logged.get("decisions", {})
    check["ok"] = (check["ok"] and check["after_stop_extra"] == {"rows": 0, "likes": 0, "dislikes": 0}
                   and all(v["ok"] for v in exact.values()))
    if kind != "reference" and logged["bad_lines"]:
        check["ok"] = False
        check["detail"] += f"; {logged['bad_lines']} access-log lines are not JSON"
    if logged["lines"] == 0:
        check["detail"] += "; access log empty"
    res.write_check = check
    if res.exit_code not in (0, None):
        res.error = f"exit code {res.exit_code} after SIGTERM"
    return res


def filmd_config(port: int, db: Path | PGDatabase, access_log: Path, workers: int, anonymous_editor: bool) -> dict:
    on_pg = isinstance(db, PGDatabase)
    return {
        "server": {"host": "127.0.0.1", "port": port, "workers": workers},
        "database": {"path": str(access_log.parent / "unused.db") if on_pg else str(db), "durability": "normal",
                     "seed_csv": None, "url": db.url if on_pg else None},
        "rate_limits": {
            "enabled": True,
            "dry_run": False,
            "default": NEVER,
            "application": NEVER,
            "routes": {"GET /": NEVER, "POST /add_film": NEVER},
        },
        "cors": {"allowed_origins": [BENCH_ORIGIN]},
        "auth": {"anonymous_role": "editor" if anonymous_editor else "voter"},
        "logging": {"level": "info", "file": str(access_log)},
    }


# ---------------------------------------------------------------------------------------------
# databases for each server


def prepare_databases(servers, film_counts, args, ctx) -> None:
    db_dir = ctx["out"] / "db"
    db_dir.mkdir(parents=True, exist_ok=True)
    ctx["db"] = {}
    for n in film_counts:
        if "reference" in servers:
            path = db_dir / f"reference-{n}.db"
            log(f"reference database: {n} films (make_db.py)")
            subprocess.run([sys.executable, str(args.reference_dir / "make_db.py"), str(path), "--films", str(n)],
                           check=True, stderr=subprocess.DEVNULL)
            ctx["db"][("reference", n)] = path
        if "filmd" in servers:
            path = db_dir / f"filmd-{n}.db"
            csv_path = db_dir / f"films-{n}.csv"
            write_films_csv(csv_path, n)
            cfg = db_dir / f"filmd-{n}.config.json"
            cfg.write_text(json.dumps({"database": {"path": str(path), "seed_csv": None}}, indent=2))
            log(f"filmd database: {n} films (filmd import)")
            t0 = time.monotonic()
            r = subprocess.run([str(ctx["filmd"]), "import", str(csv_path), "--config", str(cfg)],
                               capture_output=True, text=True, env=server_env(), cwd=db_dir)
            if r.returncode != 0:
                raise BenchError(f"filmd import failed ({r.returncode}): {(r.stderr or r.stdout)[-2000:]}")
            got = snapshot(path).rows
            if got != n:
                raise BenchError(f"filmd import stored {got} films, expected {n}")
            log(f"  imported in {time.monotonic() - t0:.1f}s; films columns: {', '.join(films_columns(path))}")
            if "filmd_key" not in ctx and not args.anonymous:
                ctx["filmd_key"] = create_key(ctx["filmd"], cfg, db_dir)
            elif not args.anonymous and ctx.get("filmd_key"):
                # the same key in every database: copy the key row over
                copy_keys(ctx["db"][("filmd", film_counts[0])], path)
            checkpoint(path)
            ctx["db"][("filmd", n)] = path
        if "filmd-pg" in servers:
            ctx["db"][("filmd-pg", n)] = prepare_postgres(n, db_dir, args, ctx)
    ctx["api_keys"] = {"filmd": ctx.get("filmd_key"), "filmd-pg": ctx.get("filmd_pg_key")}


def prepare_postgres(n: int, db_dir: Path, args, ctx) -> PGDatabase:
    """The template database of n films for the filmd-pg runs, with its own editor key."""
    csv_path = db_dir / f"films-{n}.csv"
    if not csv_path.exists():
        write_films_csv(csv_path, n)
    db = template(ctx["postgres"], n)
    cfg = db_dir / f"filmd-pg-{n}.config.json"
    cfg.write_text(json.dumps({"database": {"path": str(db_dir / "unused.db"), "url": db.url, "seed_csv": None}}))
    log(f"filmd-pg database: {n} films (filmd import into PostgreSQL)")
    r = subprocess.run([str(ctx["filmd"]), "import", str(csv_path), "--config", str(cfg)],
                       capture_output=True, text=True, env=server_env(), cwd=db_dir)
    if r.returncode != 0:
        raise BenchError(f"filmd import into PostgreSQL failed ({r.returncode}): {(r.stderr or r.stdout)[-2000:]}")
    if snapshot(db).rows != n:
        raise BenchError(f"filmd import into PostgreSQL stored {snapshot(db).rows} films, expected {n}")
    if not args.anonymous:
        ctx["filmd_pg_key"] = create_key(ctx["filmd"], cfg, db_dir)  # keys live in the database: one per template
    ctx["postgres"].sql(f'VACUUM ANALYZE', db.name)
    return db


KEY_RE = re.compile(r"\bfilmd_[A-Za-z0-9_\-\.~+/=]{8,}")


def create_key(filmd: Path, cfg: Path, cwd: Path) -> str | None:
    r = subprocess.run([str(filmd), "keys", "create", "--role", "editor", "--name", "bench", "--config", str(cfg)],
                       capture_output=True, text=True, env=server_env(), cwd=cwd)
    key = None
    if r.returncode == 0:
        with contextlib.suppress(ValueError):
            doc = json.loads(r.stdout)
            for k in ("key", "secret", "api_key", "token"):
                if isinstance(doc.get(k), str):
                    key = doc[k]
                    break
        if key is None:
            m = KEY_RE.search(r.stdout)
            key = m.group(0) if m else None
    if key:
        log("  editor API key created: every filmd request carries X-API-Key")
    else:
        log(f"  could not create an API key (exit {r.returncode}: {(r.stderr or r.stdout).strip()[:200]}); "
            "running filmd with auth.anonymous_role=editor instead")
    return key


def copy_keys(src: Path, dst: Path) -> None:
    con = sqlite3.connect(str(dst))
    try:
        con.execute("ATTACH DATABASE ? AS src", (f"file:{src}?mode=ro",))
        con.execute("INSERT OR REPLACE INTO main.api_keys SELECT * FROM src.api_keys")
        con.commit()
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# report


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB" if kib else "-"


def ratio(a: float, b: float) -> float | None:
    return a / b if a and b else None


def fmt_ratio(x: float | None) -> str:
    return f"{x:.2f}x" if x is not None else "-"


def render(results: list[Result], args, machine: dict) -> str:
    lines = []
    hdr = f"{'workload':<12} {'films':>8} {'wkrs':>4} {'server':<10} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'peak RSS':>9}  writes"
    lines.append(f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s after a {args.warmup:g}s warm-up; "
                 f"{machine['cpus']} CPUs ({machine['cpu']}), {machine['kernel']}")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    groups: dict[tuple, dict[str, Result]] = {}
    for r in results:
        groups.setdefault((r.workload, r.films, r.workers), {})[r.server] = r
    for (workload, films, workers), by in groups.items():
        for name in SERVERS:
            r = by.get(name)
            if not r:
                continue
            if r.error and not r.wrk:
                lines.append(f"{workload:<12} {films:>8} {workers:>4} {name:<10} FAILED: {r.error}")
                continue
            wc = r.write_check
            writes = "ok" if wc.get("ok") else "FAIL"
            if "checks" in wc:
                parts = [f"{col} +{c['grew']} (acked {c['acked_at_least']}, sent {c['sent']})"
                         for col, c in wc["checks"].items() if c["sent"]]
                writes += ": " + ", ".join(parts)
            exact = wc.get("server_log", {}).get("exact", {})
            written = [col for col, c in wc.get("checks", {}).items() if c["sent"]]
            verified = [col for col in written if col in exact]
            if verified:
                tag = "= log" if all(exact[c]["ok"] for c in verified) else "!= log"
                writes += f"; {tag}" + ("" if verified == written else f" ({', '.join(verified)})")
            lines.append(f"{workload:<12} {films:>8} {workers:>4} {name:<10} {r.rps:>9.0f} {r.p50_ms:>7.2f} "
                         f"{r.p99_ms:>7.2f} {mib(r.peak_rss_kib):>9}  {writes}")
        f, ref = by.get("filmd"), by.get("reference")
        if f and ref and f.wrk and ref.wrk and "reference" in args.servers:
            lines.append(f"{'':<12} {'':>8} {'':>4} {'filmd/ref':<10} {fmt_ratio(ratio(f.rps, ref.rps)):>9} "
                         f"{fmt_ratio(ratio(f.p50_ms, ref.p50_ms)):>7} {fmt_ratio(ratio(f.p99_ms, ref.p99_ms)):>7} "
                         f"{fmt_ratio(ratio(f.peak_rss_kib, ref.peak_rss_kib)):>9}")
    lines.append("writes: database growth during the measured run; acked = answered 2xx/3xx by wrk's count, "
                 "sent = generated by the script (the difference was in flight when wrk stopped); "
                 "'= log': growth over the server's life equals the 2xx writes in its access log.")
    for name in SERVERS:
        mws = [r.middleware for r in results if r.server == name and r.middleware and "error" not in r.middleware]
        if name != "filmd" or not mws:
            continue
        def seen(key):
            vals = {bool(m.get(key)) for m in mws}
            return "yes" if vals == {True} else "no" if vals == {False} else "sometimes"
        decisions: dict[str, int] = {}
        for m in mws:
            for k, v in (m.get("ratelimit_decisions") or {}).items():
                decisions[k] = decisions.get(k, 0) + v
        lines.append(f"filmd middleware seen on GET /: security headers {seen('security_headers')}, "
                     f"X-Request-ID {seen('request_id')}, CORS {seen('cors')}, RateLimit headers "
                     f"{seen('ratelimit_headers')}, API key {'sent' if seen('api_key_sent') == 'yes' else 'not sent (anonymous editor)'}; "
                     f"access log ratelimit.decision: " + (", ".join(f"{k} {v}" for k, v in sorted(decisions.items())) or "-"))
        missing = [what for what, key in (("CORS", "cors"), ("rate-limit headers", "ratelimit_headers"),
                                          ("security headers", "security_headers")) if seen(key) != "yes"]
        if missing:
            lines.append(f"WARNING: filmd answered without {', '.join(missing)}: the middleware chain is not "
                         "all on, so these figures flatter filmd.")
    # scaling: GET / at the largest vs the smallest catalogue
    counts = sorted({r.films for r in results})
    if len(counts) > 1:
        lines.append("")
        lines.append(f"GET / scaling, {counts[-1]} films vs {counts[0]} films:")
        for name in SERVERS:
            for workers in sorted({r.workers for r in results}):
                small = next((r for r in results if r.server == name and r.workload == "get_root"
                              and r.films == counts[0] and r.workers == workers and r.wrk), None)
                big = next((r for r in results if r.server == name and r.workload == "get_root"
                            and r.films == counts[-1] and r.workers == workers and r.wrk), None)
                if small and big:
                    lines.append(f"  {name:<10} workers={workers}: {big.rps:.0f} / {small.rps:.0f} req/s = "
                                 f"{fmt_ratio(ratio(big.rps, small.rps))}")
    lines.append("")
    if "filmd-pg" in args.servers:
        lines.extend(render_pg(groups, ratio, fmt_ratio))
        return "\n".join(lines)
    lines.extend(render_targets(results))
    return "\n".join(lines)


def render_targets(results: list[Result]) -> list[str]:
    out = ["Targets (issue 5, item 2; one run, filmd/reference):"]

    def get(server, workload, films=None, workers=1):
        for r in results:
            if (r.server == server and r.workload == workload and r.workers == workers and r.wrk
                    and (films is None or r.films == films)):
                return r
        return None

    def line(ok: bool | None, text: str) -> None:
        out.append(f"  [{'PASS' if ok else 'MISS' if ok is not None else ' -- '}] {text}")

    base = 100000 if any(r.films == 100000 for r in results) else max((r.films for r in results), default=0)
    for workload, want in TARGETS.items():
        f, ref = get("filmd", workload, base), get("reference", workload, base)
        x = ratio(f.rps, ref.rps) if f and ref else None
        line(None if x is None else x >= want, f"{WORKLOADS[workload][1]} req/s >= {want:.1f}x reference: {fmt_ratio(x)}")
    worst = None
    for workload in WORKLOADS:
        f, ref = get("filmd", workload, base), get("reference", workload, base)
        if f and ref:
            x = ratio(f.p99_ms, ref.p99_ms)
            if x is not None and (worst is None or x > worst[0]):
                worst = (x, workload)
    line(None if worst is None else worst[0] <= P99_MAX_RATIO,
         f"p99 <= {P99_MAX_RATIO}x reference (worst workload): "
         + (f"{fmt_ratio(worst[0])} ({worst[1]})" if worst else "-"))
    peaks = [r.peak_rss_kib for r in results if r.server == "filmd" and r.peak_rss_kib and r.workers == 1]
    peak = max(peaks) / 1024 if peaks else None
    line(None if peak is None else peak <= RSS_MAX_MIB,
         f"filmd peak RSS <= {RSS_MAX_MIB:.0f} MiB at the tested connections: " + (f"{peak:.1f} MiB" if peak else "-"))
    counts = sorted({r.films for r in results})
    small, big = (get("filmd", "get_root", counts[0]), get("filmd", "get_root", counts[-1])) if counts else (None, None)
    x = ratio(big.rps, small.rps) if small and big and small is not big else None
    line(None if x is None else abs(x - 1) <= SCALING_MAX_DROP,
         f"GET / on {counts[-1] if counts else '?'} films within {SCALING_MAX_DROP:.0%} of {counts[0] if counts else '?'}: "
         f"{fmt_ratio(x)}" + ("" if x is not None or len(counts) > 1 else " (run with --scaling)"))
    return out


def machine_info() -> dict:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu or "unknown CPU", "kernel": f"Linux {platform.release()}",
            "python": platform.python_version(),
            "wrk": (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines() or ["?"])[0]
            if shutil.which("wrk") else None}


# ---------------------------------------------------------------------------------------------


def csv_list(kind):
    def parse(s: str):
        return [kind(x) for x in s.split(",") if x.strip()]
    return parse


def plot_last_run(args) -> int:
    import plot
    run = args.out.resolve() if args.out else plot.last_run(BENCH / "out")
    svg = Path(args.plot).resolve() if args.plot else run / "chart.svg"
    if not (run / "results.json").is_file():
        log(f"no results.json in {run}: nothing to plot")
        return 1
    plot.ensure_matplotlib(args.install)
    log(f"chart of {run / 'results.json'}: {plot.plot(run / 'results.json', svg)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--filmd-bin", type=Path, help="filmd binary to measure (default: build it release)")
    ap.add_argument("--reference-dir", type=Path, default=DEFAULT_REFERENCE_DIR,
                    help=f"C reference sources (default {DEFAULT_REFERENCE_DIR})")
    ap.add_argument("--servers", type=csv_list(str), default=None, help="reference,filmd,filmd-pg")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite",
                    help="postgres: filmd on database.url (a throwaway cluster) beside filmd on SQLite")
    ap.add_argument("--cluster", type=int, default=0, metavar="N",
                    help="GET /, likes, mixed through HAProxy with N nodes and 1, beside 1 node direct")
    ap.add_argument("--workloads", type=csv_list(str), default=None, help=",".join(WORKLOADS))
    ap.add_argument("--films", type=csv_list(int), default=None,
                    help="catalogue size(s), comma-separated (default 100000; 10000 with --quick)")
    ap.add_argument("--scaling", action="store_true",
                    help="GET / on 1000 and 1000000 films (same as --films 1000,1000000 --workloads get_root)")
    ap.add_argument("--workers", type=csv_list(int), default=[1],
                    help="filmd server.workers and evfilm --threads, comma-separated (default 1)")
    ap.add_argument("--duration", type=float, default=None, help="seconds per measured run (default 10)")
    ap.add_argument("--warmup", type=float, default=None, help="seconds of warm-up before each run (default 3)")
    ap.add_argument("--quick", action="store_true", help="2 s runs, 1 s warm-up, 10 000 films: a setup check")
    ap.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    ap.add_argument("--connections", type=int, default=50, help="wrk -c (default 50)")
    ap.add_argument("--anonymous", action="store_true",
                    help="no API key: filmd runs with auth.anonymous_role=editor")
    ap.add_argument("--limiter", choices=["memory", "redis"], default="memory",
                    help="redis: filmd alone, its rate limits in memory vs in a redis-server of the bench's own")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of --limiter redis (default 3)")
    ap.add_argument("--no-install", dest="install", action="store_false", help="never apt-get install")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default bench/out/<time>)")
    ap.add_argument("--plot", nargs="?", const="", default=None, metavar="SVG",
                    help="measure nothing: chart the last run (--out, else the newest bench/out/*) "
                         "as SVG, to SVG or <run>/chart.svg (matplotlib, installed if missing)")
    args = ap.parse_args(argv)

    if args.plot is not None:
        return plot_last_run(args)

    if args.duration is None:
        args.duration = 2.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 3.0
    if args.scaling:
        args.films = args.films or [1000, 1000000]
        args.workloads = args.workloads or ["get_root"]
    args.films = args.films or ([10000] if args.quick else [100000])
    if args.limiter == "redis":
        args.servers = ["filmd"]
        args.workloads = args.workloads or ["get_root", "like_random"]
    if args.cluster:
        args.workloads = args.workloads or list(cluster_bench.WORKLOADS)
    args.workloads = args.workloads or list(WORKLOADS)
    args.servers = args.servers or (["filmd", "filmd-pg"] if args.db == "postgres" else ["reference", "filmd"])
    bad = [w for w in args.workloads if w not in WORKLOADS] + [s for s in args.servers if s not in SERVERS]
    if bad:
        ap.error(f"unknown workload/server: {', '.join(bad)}")
    if any(n < 1 for n in args.films) or any(w < 1 for w in args.workers):
        ap.error("--films and --workers must be >= 1")
    if args.duration < 1:
        ap.error("--duration must be >= 1 (wrk counts whole seconds)")

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = (args.out or BENCH / "out" / stamp).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ctx: dict = {"out": out}
    servers = [s for s in SERVERS if s in args.servers]
    if args.cluster:
        ensure_tools(False, args.install)
        args.out, args.filmd = out, args.filmd_bin.resolve() if args.filmd_bin else build_filmd()
        return cluster_bench.run(args, sys.modules[__name__])
    try:
        ensure_tools("reference" in servers, args.install)
        if "reference" in servers:
            ctx["evfilm"] = build_reference(args.reference_dir)
        if "filmd-pg" in servers:
            ctx["postgres"] = start_cluster()
        if "filmd" in servers or "filmd-pg" in servers:
            ctx["filmd"] = args.filmd_bin.resolve() if args.filmd_bin else build_filmd()
            if not os.access(ctx["filmd"], os.X_OK):
                raise BenchError(f"filmd binary not executable: {ctx['filmd']}")
        prepare_databases(servers, args.films, args, ctx)
    except (BenchError, subprocess.CalledProcessError) as e:
        log(f"setup failed: {e}")
        return 1

    machine = machine_info()
    if args.limiter == "redis":
        table, results = limiter.compare(args, ctx, measure, log)
        print(table)
        (out / "limiter.txt").write_text(table + "\n")
        (out / "limiter.json").write_text(json.dumps([r.__dict__ for r in results], indent=2))
        return 0 if all(not r.error and r.write_check.get("ok") for r in results) else 1
    results: list[Result] = []
    for films in args.films:
        for workers in args.workers:
            for workload in args.workloads:
                for kind in servers:
                    log(f"{workload} ({films} films, workers={workers}) on {kind}: "
                        f"{args.warmup:g}s warm-up + {args.duration:g}s")
                    try:
                        r = measure(kind, workload, films, workers, args, ctx)
                    except (BenchError, subprocess.SubprocessError, OSError, KeyError) as e:
                        r = Result(workload, kind, films, workers, error=str(e))
                        log(f"  FAILED: {e}")
                    else:
                        log(f"  {r.rps:.0f} req/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, "
                            f"peak RSS {mib(r.peak_rss_kib)}, writes {'ok' if r.write_check.get('ok') else 'FAIL'}")
                    results.append(r)

    table = render(results, args, machine)
    print(table)
    doc = {
        "when": stamp, "machine": machine,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "filmd_bin": str(ctx.get("filmd", "")), "reference_bin": str(ctx.get("evfilm", "")),
        "api_key_used": bool(ctx.get("api_key")),
        "results": [r.__dict__ for r in results],
    }
    (out / "results.json").write_text(json.dumps(doc, indent=2))
    (out / "results.txt").write_text(table + "\n")
    log(f"results: {out / 'results.json'}")
    ok = all(not r.error and r.write_check.get("ok") for r in results)
    if not ok:
        for r in results:
            if r.error or not r.write_check.get("ok"):
                log(f"problem: {r.workload}/{r.server}: {r.error or json.dumps(r.write_check)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
