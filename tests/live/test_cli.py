"""INTERFACE.md command line: import, export, backup."""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import threading

import pytest

from filmd_server import REPO
from live_helpers import FILM_KEYS, add_film, add_films, all_films, assert_film, snapshot, write_csv

ROWS = [("Amélie", "UGC", 2001), ("Monsters, Inc.", "Pixar", 2001), ('"Crocodile" Dundee', "Paramount", 1986),
        ("Léon: The Professional", "Gaumont", None)]


def _stdout_json(proc) -> dict:
    lines = [line for line in proc.stdout.decode().splitlines() if line.strip()]
    assert lines, f"no stdout; stderr={proc.stderr.decode()!r}"
    return json.loads(lines[-1])


def _triples(films) -> list[tuple]:
    return [(f["name"], f["studio"], f["year"]) for f in films]


def _started(srv):
    srv.start()
    return srv


# -- import --------------------------------------------------------------------------------------

def test_import_csv(make_server, tmp_path):
    srv = make_server(start=False)
    path = write_csv(tmp_path / "films.csv", ROWS)
    proc = srv.cli("import", str(path))
    assert proc.returncode == 0, proc
    assert _stdout_json(proc) == {"imported": 4}
    films = all_films(_started(srv))
    assert _triples(films) == list(ROWS)
    for film in films:
        assert_film(film, likes=0, dislikes=0)


def test_import_jsonl(make_server, tmp_path):
    srv = make_server(start=False)
    path = tmp_path / "films.jsonl"
    path.write_text("".join(json.dumps({"name": n, "studio": s, "year": y}, ensure_ascii=False) + "\n"
                            for n, s, y in ROWS), encoding="utf-8")
    proc = srv.cli("import", str(path))
    assert proc.returncode == 0, proc
    assert _stdout_json(proc) == {"imported": 4}
    assert _triples(all_films(_started(srv))) == list(ROWS)


def test_import_sniffs_jsonl_without_extension(make_server, tmp_path):
    srv = make_server(start=False)
    path = tmp_path / "films.txt"
    path.write_text('{"name": "Up", "studio": "Pixar", "year": 2009}\n{"name": "Coco", "studio": "Pixar"}\n')
    proc = srv.cli("import", str(path))
    assert proc.returncode == 0, proc
    assert _stdout_json(proc) == {"imported": 2}
    assert _triples(all_films(_started(srv))) == [("Up", "Pixar", 2009), ("Coco", "Pixar", None)]


def test_import_repository_catalogue(make_server):
    srv = make_server(start=False)
    path = REPO / "data" / "films.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        expected = len(list(csv.DictReader(fh)))
    proc = srv.cli("import", str(path))
    assert proc.returncode == 0, proc
    assert _stdout_json(proc) == {"imported": expected}
    assert len(all_films(_started(srv))) == expected


def test_import_adds_to_existing_catalogue_while_serving(make_server, tmp_path):
    srv = make_server()
    add_films(srv, 2)
    proc = srv.cli("import", str(write_csv(tmp_path / "more.csv", ROWS[:2])))
    assert proc.returncode == 0, proc
    assert len(all_films(srv)) == 4


def _lines_reported(stderr: str) -> set[int]:
    return {int(n) for n in re.findall(r"\bline (\d+)\b", stderr)}


def test_import_csv_with_bad_rows_imports_nothing(make_server, tmp_path):
    srv = make_server(start=False)
    path = tmp_path / "bad.csv"
    # line 1 header; lines 3 and 5 are bad
    path.write_text("name,studio,year\n"
                    "Good One,S,2001\n"
                    "Bad Year,S,abc\n"
                    "Good Two,S,\n"
                    ",Empty Name,1990\n"
                    "Good Three,S,1999\n", encoding="utf-8")
    proc = srv.cli("import", str(path))
    assert proc.returncode == 65, proc
    stderr = proc.stderr.decode()
    assert {3, 5} <= _lines_reported(stderr), stderr
    assert not ({2, 4, 6} & _lines_reported(stderr)), stderr
    assert "year" in stderr and "name" in stderr, stderr
    assert all_films(_started(srv)) == []


def test_import_jsonl_with_bad_rows_imports_nothing(make_server, tmp_path):
    srv = make_server()
    existing = snapshot(srv) + [add_film(srv, "Existing", "S", 2000)]
    path = tmp_path / "bad.jsonl"
    path.write_text('{"name": "Fine", "studio": "S", "year": 2000}\n'
                    '{"name": "Broken", "studio": \n'
                    '{"name": "Also fine", "studio": "S"}\n'
                    '{"name": "Too old", "studio": "S", "year": 1800}\n', encoding="utf-8")
    proc = srv.cli("import", str(path))
    assert proc.returncode == 65, proc
    stderr = proc.stderr.decode()
    assert {2, 4} <= _lines_reported(stderr), stderr
    assert snapshot(srv) == existing


def test_import_rejects_bad_header(make_server, tmp_path):
    srv = make_server(start=False)
    path = tmp_path / "hdr.csv"
    path.write_text("title,maker,when\nFrozen,Disney,2013\n")
    proc = srv.cli("import", str(path))
    assert proc.returncode != 0 and proc.returncode > 0, proc
    assert all_films(_started(srv)) == []


def test_import_missing_file_fails_cleanly(make_server, tmp_path):
    srv = make_server(start=False)
    proc = srv.cli("import", str(tmp_path / "does-not-exist.csv"))
    assert proc.returncode > 0, proc
    assert b"Fatal error" not in proc.stderr and b".swift" not in proc.stderr, proc.stderr


# -- export --------------------------------------------------------------------------------------

def _populated(make_server, tmp_path):
    srv = make_server()
    for name, studio, year in ROWS:
        add_film(srv, name, studio, year)
    films = snapshot(srv)
    srv.request("POST", f"/films/{films[0]['id']}/like")
    srv.request("POST", f"/films/{films[1]['id']}/dislike")
    return srv, snapshot(srv)


def test_export_jsonl_default(make_server, tmp_path):
    srv, films = _populated(make_server, tmp_path)
    proc = srv.cli("export")
    assert proc.returncode == 0, proc
    lines = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines() if line.strip()]
    for line in lines:
        assert set(line) == FILM_KEYS
    assert lines == films  # every film, ordered by id, with its counts


def test_export_csv_to_file(make_server, tmp_path):
    srv, films = _populated(make_server, tmp_path)
    out = tmp_path / "out.csv"
    proc = srv.cli("export", "--format", "csv", "--output", str(out))
    assert proc.returncode == 0, proc
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {"name", "studio", "year"} <= set(rows[0].keys())
    assert [(r["name"], r["studio"], r["year"]) for r in rows] == \
        [(f["name"], f["studio"], "" if f["year"] is None else str(f["year"])) for f in films]


@pytest.mark.parametrize("fmt,ext", [("jsonl", "jsonl"), ("csv", "csv")])
def test_export_then_import_round_trips(make_server, tmp_path, fmt, ext):
    srv, films = _populated(make_server, tmp_path)
    out = tmp_path / f"dump.{ext}"
    proc = srv.cli("export", "--format", fmt, "--output", str(out))
    assert proc.returncode == 0, proc

    fresh = make_server(start=False)
    proc = fresh.cli("import", str(out))
    assert proc.returncode == 0, (proc, out.read_text(encoding="utf-8"))
    assert _stdout_json(proc) == {"imported": len(films)}
    assert _triples(all_films(_started(fresh))) == _triples(films)


def test_export_stdout_is_utf8_and_csv_quoted(make_server, tmp_path):
    srv, _ = _populated(make_server, tmp_path)
    proc = srv.cli("export", "--format", "csv")
    assert proc.returncode == 0, proc
    text = proc.stdout.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == [r[0] for r in ROWS]


# -- backup --------------------------------------------------------------------------------------

@pytest.mark.sqlite_only  # PostgreSQL's backup is pg_dump: test_postgres_setup.py
def test_backup_while_serving(make_server, tmp_path):
    srv = make_server()
    films = add_films(srv, 20)
    stop = threading.Event()

    def writer():  # keep writing during the backup: the copy must still be consistent
        i = 0
        while not stop.is_set() and i < 500:
            srv.request("POST", f"/films/{films[i % 20]['id']}/like")
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    dest = tmp_path / "backup.db"
    try:
        proc = srv.cli("backup", str(dest))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert proc.returncode == 0, proc
    assert _stdout_json(proc) == {"backup": str(dest)}

    conn = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    finally:
        conn.close()

    copy = make_server({"database": {"path": str(dest)}})
    copied = snapshot(copy)
    assert [(f["id"], f["name"]) for f in copied] == [(f["id"], f["name"]) for f in films]
    live = {f["id"]: f["likes"] for f in snapshot(srv)}
    for film in copied:
        assert 0 <= film["likes"] <= live[film["id"]]


@pytest.mark.sqlite_only  # PostgreSQL's backup is pg_dump: test_postgres_setup.py
def test_backup_of_idle_database_is_identical(make_server, tmp_path):
    srv = make_server()
    add_films(srv, 5)
    expected = snapshot(srv)
    dest = tmp_path / "idle.db"
    proc = srv.cli("backup", str(dest))
    assert proc.returncode == 0, proc
    srv.stop()
    assert snapshot(make_server({"database": {"path": str(dest)}})) == expected


@pytest.mark.sqlite_only  # PostgreSQL's backup is pg_dump: test_postgres_setup.py
def test_backup_prints_its_path_as_json_whatever_the_name(make_server, tmp_path):
    srv = make_server()
    add_films(srv, 1)
    dest = tmp_path / 'a "quoted" \\ name.db'
    proc = srv.cli("backup", str(dest))
    assert proc.returncode == 0, proc
    assert _stdout_json(proc) == {"backup": str(dest)}
    assert dest.stat().st_size > 0


def test_unknown_command_fails(make_server):
    srv = make_server(start=False)
    proc = srv.cli("frobnicate")
    assert proc.returncode > 0, proc


# -- import progress and options -------------------------------------------------------------

def _import_on_a_terminal(srv, path) -> tuple[int, bytes, str]:
    """`filmd import` with stderr on a pseudo-terminal and stdout on a pipe: (exit code,
    stdout, what the terminal showed)."""
    import os
    import pty
    import subprocess

    from filmd_server import FILMD_BIN
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([FILMD_BIN, "import", str(path), "--config", str(srv.config_path)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                                env=srv.env, cwd=srv.workdir)
        os.close(slave)
        screen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            screen += chunk
        stdout = proc.stdout.read()
        proc.stdout.close()
        return proc.wait(timeout=60), stdout, screen.decode()
    finally:
        os.close(master)


PROGRESS = re.compile(r"filmd import: (\d+) rows read, (\d+) rows/s, (\d+) bad rows")


def test_import_on_a_terminal_shows_progress(make_server, tmp_path):
    srv = make_server(start=False)
    rows = [(f"Film {i}", "Studio", 1950 + i % 70) for i in range(3000)]
    code, stdout, screen = _import_on_a_terminal(srv, write_csv(tmp_path / "many.csv", rows))
    assert code == 0, screen
    assert json.loads(stdout) == {"imported": 3000}  # the summary is unchanged, on stdout only
    lines = PROGRESS.findall(screen)
    assert len(lines) >= 2, screen  # drawn at the first row and at the end
    assert screen.count("\r") >= 2 and screen.endswith("\r\n"), repr(screen)  # redrawn in place
    read, per_second, bad = map(int, lines[-1])
    assert (read, bad) == (3000, 0) and per_second > 0, screen
    assert [int(r) for r, _, _ in lines] == sorted(int(r) for r, _, _ in lines)


def test_import_on_a_terminal_counts_bad_rows(make_server, tmp_path):
    srv = make_server(start=False)
    path = tmp_path / "bad.csv"
    path.write_text("name,studio,year\nGood,S,2001\nBad Year,S,abc\n,No Name,1990\nGood Two,S,1999\n")
    code, stdout, screen = _import_on_a_terminal(srv, path)
    assert code == 65 and stdout == b"", screen
    read, _, bad = PROGRESS.findall(screen)[-1]
    assert (read, bad) == ("4", "2"), screen
    # the error report starts on a line of its own, below the progress
    assert re.search(r"bad rows\r?\n.*line 3", screen, re.S), repr(screen)


def test_import_without_a_terminal_writes_nothing_to_stderr(make_server, tmp_path):
    srv = make_server(start=False)
    proc = srv.cli("import", str(write_csv(tmp_path / "films.csv", ROWS)))
    assert proc.returncode == 0, proc
    assert proc.stderr == b""
    assert proc.stdout == b'{"imported":4}\n'
    bad = tmp_path / "bad.csv"
    bad.write_text("name,studio,year\nBad Year,S,abc\n")
    proc = srv.cli("import", str(bad))
    assert proc.returncode == 65 and b"rows/s" not in proc.stderr and b"\r" not in proc.stderr, proc


@pytest.mark.parametrize("command", [["import", "x.csv"], ["export"], ["backup", "x.db"], ["routes"],
                                     ["keys", "create", "--role", "reader", "--name", "n"], ["keys", "list"],
                                     ["keys", "revoke", "abc"]])
def test_commands_that_do_not_listen_refuse_host_and_port(make_server, command):
    srv = make_server(start=False)
    for flag in (["--host", "127.0.0.1"], ["--port", "3000"]):
        proc = srv.cli(*command, *flag)
        assert proc.returncode == 64, proc  # ArgumentParser's usage error
        assert flag[0].encode() in proc.stderr, proc
    help_text = srv.cli(*command, "--help").stdout
    assert b"--host" not in help_text and b"--port" not in help_text and b"--config" in help_text


def test_serve_and_check_config_still_take_host_and_port(make_server):
    srv = make_server(start=False)
    for command in (["serve"], ["check-config"]):
        help_text = srv.cli(*command, "--help").stdout
        assert b"--host" in help_text and b"--port" in help_text, help_text
