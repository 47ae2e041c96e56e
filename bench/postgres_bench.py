"""bench/run --db postgres: filmd on database.url ("filmd-pg") beside filmd on SQLite, in one run.

A throwaway PostgreSQL cluster (tests/live/postgres_service.py: initdb, a free loopback port,
stopped and removed at the end) holds one template database per catalogue size, loaded with
`filmd import` and given the editor key; every measured run gets a fresh copy of it
(CREATE DATABASE ... TEMPLATE), as the SQLite runs get a fresh copy of their file.
"""
from __future__ import annotations

import atexit
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "live"))
from postgres_service import PostgresService  # noqa: E402

# Issue 16: likes on PostgreSQL, and GET / against filmd on SQLite in the same run.
PG_TARGETS = {"like_random": ("likes/s", 20000.0, None), "get_root": ("GET / vs SQLite", None, 0.8)}


@dataclass(frozen=True)
class PGDatabase:
    service: PostgresService
    name: str

    @property
    def url(self) -> str:
        return self.service.url(self.name)

    def totals(self) -> tuple[int, int, int, int]:
        """count, sum(likes), sum(dislikes), max(id) of the films."""
        out = self.service.sql("SELECT count(*), coalesce(sum(likes), 0), coalesce(sum(dislikes), 0), "
                               "coalesce(max(id), 0) FROM films", self.name)
        return tuple(int(v) for v in out.strip().split("|"))

    def copy(self, name: str) -> "PGDatabase":
        self.service.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.service.sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}" OWNER filmd')
        return PGDatabase(self.service, name)


def start_cluster() -> PostgresService:
    """The run's cluster; stopped (by PID if need be) and removed when bench/run exits."""
    service = PostgresService()
    atexit.register(service.remove)
    return service.start()


def template(service: PostgresService, films: int) -> PGDatabase:
    name = f"bench_{films}"
    service.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    service.create_database(name)
    return PGDatabase(service, name)


def render_pg(groups: dict, ratio, fmt_ratio) -> list[str]:
    """The filmd-pg/filmd line of each workload, and the issue-16 targets."""
    lines, targets = [], ["Targets (issue 16; one run, filmd on PostgreSQL vs filmd on SQLite):"]
    for (workload, films, workers), by in groups.items():
        pg, lite = by.get("filmd-pg"), by.get("filmd")
        if not (pg and lite and pg.wrk and lite.wrk):
            continue
        x = ratio(pg.rps, lite.rps)
        lines.append(f"{workload:<12} {films:>8} {workers:>4} {'pg/sqlite':<10} {fmt_ratio(x):>9} "
                     f"{fmt_ratio(ratio(pg.p50_ms, lite.p50_ms)):>7} {fmt_ratio(ratio(pg.p99_ms, lite.p99_ms)):>7}")
        if workload in PG_TARGETS and workers == 1:
            what, absolute, relative = PG_TARGETS[workload]
            ok = pg.rps >= absolute if absolute else (x is not None and x >= relative)
            want = f">= {absolute:.0f}" if absolute else f">= {relative:.1f}x"
            got = f"{pg.rps:.0f}" if absolute else fmt_ratio(x)
            targets.append(f"  [{'PASS' if ok else 'MISS'}] {what} {want}: {got} ({films} films)")
    return lines + [""] + targets
