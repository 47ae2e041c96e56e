"""SPEC §7 storage: WAL, schema version, durability across restart and SIGKILL; database.seed_csv."""
from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from filmd_server import REPO
from live_helpers import add_film, add_films, all_films, assert_problem, get_film, snapshot, write_csv


def _pragma(db_path, name: str):
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.sqlite_only
def test_database_is_wal_and_versioned(server):
    add_film(server, "WAL", "S", 2000)
    assert server.db_path.exists()
    assert str(_pragma(server.db_path, "journal_mode")).lower() == "wal"
    assert _pragma(server.db_path, "user_version") >= 1
    assert _pragma(server.db_path, "integrity_check") == "ok"


def test_data_survives_a_clean_restart(make_server):
    first = make_server()
    films = add_films(first, 3)
    first.request("POST", f"/films/{films[0]['id']}/like")
    first.request("GET", f"/?dislike={films[1]['id']}")
    first.request("PATCH", f"/films/{films[2]['id']}", json_body={"name": "Renamed"})
    before = snapshot(first)
    assert first.stop() == 0
    on_sqlite = first.postgres is None
    version = _pragma(first.db_path, "user_version") if on_sqlite else None

    second = make_server({"database": first.same_database()})
    assert snapshot(second) == before
    if on_sqlite:
        assert _pragma(first.db_path, "user_version") == version  # migration is idempotent
    # and it keeps working on the reopened file
    new = add_film(second, "After restart", "S", 2002)
    assert new["id"] not in {f["id"] for f in before}


@pytest.mark.parametrize("durability", ["normal", "full"])
def test_acknowledged_write_survives_sigkill(make_server, durability):
    first = make_server({"database": {"durability": durability}})
    film = add_film(first, "Durable", "S", 1999)
    for _ in range(5):
        assert first.request("POST", f"/films/{film['id']}/like").status == 200
    deleted = add_film(first, "Deleted", "S", 1999)
    assert first.request("DELETE", f"/films/{deleted['id']}").status == 204
    first.stop(signal.SIGKILL)

    second = make_server({"database": first.same_database(durability=durability)})
    assert snapshot(second) == [{**film, "likes": 5}]


def _seed_rows():
    return [("Amélie", "UGC", 2001), ("Monsters, Inc.", "Pixar", 2001), ('"Crocodile" Dundee', "Paramount", 1986),
            ("No year", "Indie", None)]


def test_seed_csv_fills_a_fresh_database(make_server, tmp_path):
    seed = write_csv(tmp_path / "seed.csv", _seed_rows())
    srv = make_server({"database": {"seed_csv": str(seed)}})
    got = sorted((f["name"], f["studio"], f["year"], f["likes"], f["dislikes"]) for f in all_films(srv))
    assert got == sorted((n, s, y, 0, 0) for n, s, y in _seed_rows())


def test_seed_is_not_reloaded_into_a_non_empty_database(make_server, tmp_path):
    seed = write_csv(tmp_path / "seed.csv", _seed_rows())
    first = make_server({"database": {"seed_csv": str(seed)}})
    films = all_films(first)
    assert len(films) == 4
    assert first.request("DELETE", f"/films/{films[0]['id']}").status == 204
    add_film(first, "Added by hand", "S", 2010)
    before = snapshot(first)
    assert first.stop() == 0

    second = make_server({"database": first.same_database(seed_csv=str(seed))})
    assert snapshot(second) == before


def test_repository_seed_catalogue_loads(make_server):
    path = REPO / "data" / "films.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 120
    srv = make_server({"database": {"seed_csv": str(path)}})
    films = all_films(srv)
    assert len(films) == len(rows)
    by_name = {f["name"]: f for f in films}
    assert by_name["Frozen"]["studio"] == "Disney" and by_name["Frozen"]["year"] == 2013
    assert by_name["Amélie"]["year"] == 2001
    assert by_name['"Crocodile" Dundee']["studio"] == "Paramount"
    assert "Monsters, Inc." in by_name
    assert get_film(srv, by_name["Spirited Away"]["id"])["studio"] == "Studio Ghibli"


@pytest.fixture
def small_filesystem(tmp_path):
    """A 2 MiB tmpfs of the test's own: a disk that fills up (mounting needs root)."""
    mount = tmp_path / "small-fs"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(directory, keep_free: int):
    """Fills the filesystem of `directory` up to `keep_free` bytes; returns the filler's path."""
    filler = directory / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - keep_free))
    return filler


@pytest.mark.sqlite_only
def test_a_full_disk_fails_likes_honestly_and_filmd_recovers(small_filesystem, make_server):
    """The disk fills up under a like load: every like answered 200 is in the file, every
    other one is a 503 problem and is not; once there is room again, likes succeed again."""
    server = make_server({"database": {"path": str(small_filesystem / "films.db")}})
    films = add_films(server, 8)
    filler = _fill(small_filesystem, keep_free=192 * 1024)
    acknowledged = {film["id"]: 0 for film in films}
    refused = []
    lock = threading.Lock()
    deadline = time.monotonic() + 30

    def like(index: int):
        count = 0
        while time.monotonic() < deadline:
            film_id = films[(index + count) % len(films)]["id"]
            count += 1
            resp = server.request("GET", f"/?like={film_id}")
            with lock:
                if resp.status == 200:
                    acknowledged[film_id] += 1
                else:
                    refused.append(resp)
                if len(refused) >= 200:
                    return

    threads = [threading.Thread(target=like, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refused, "the disk never filled up"
    assert sum(acknowledged.values()) > 0
    for resp in refused:
        assert_problem(resp, 503)
    assert server.request("GET", f"/films/{films[0]['id']}").status == 200  # reads go on

    filler.unlink()
    for film in films:
        assert server.request("GET", f"/?like={film['id']}").status == 200
        acknowledged[film["id"]] += 1
    assert server.stop() == 0
    conn = sqlite3.connect(server.db_path)
    try:
        stored = dict(conn.execute("SELECT id, likes FROM films"))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert stored == acknowledged, f"{sum(acknowledged.values())} likes answered 200, {len(refused)} refused"
