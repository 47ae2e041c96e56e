"""database.url off the event loop (SPEC §9): migrations, `filmd keys`, import/export and backup
against a throwaway PostgreSQL cluster, and keys that reach every node within a second."""
from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from filmd_server import FILMD_BIN, BASE_CONFIG, FilmdServer, deep_merge


@pytest.fixture
def pg_cli(tmp_path, postgres, fresh_postgres_url):
    """pg_cli(url=None) -> a stopped FilmdServer whose config points at a fresh database (for .cli)."""
    made = iter(range(1000))

    def make(url: str | None = None) -> FilmdServer:
        workdir = tmp_path / f"node{next(made)}"
        workdir.mkdir()
        server = FilmdServer(workdir, deep_merge(BASE_CONFIG, {"database": {"url": url or fresh_postgres_url()}}))
        server.postgres = postgres
        return server

    return make


def versions(node) -> list[list[str]]:
    return node.sql("SELECT version, applied_at FROM filmd_schema_versions ORDER BY version")


def count(node) -> int:
    return int(node.sql("SELECT count(*) FROM films")[0][0])


def test_migrations_apply_once_even_when_nodes_start_together(pg_cli):
    node = pg_cli()
    assert node.cli("keys", "list").returncode == 0
    first = versions(node)
    assert [v for v, _ in first] == ["1", "2"]
    assert node.cli("keys", "list").returncode == 0
    assert versions(node) == first  # a re-run changes nothing
    # Four commands on a new database at once: one migrates, the others wait for its lock.
    url = node.config["database"]["url"].rsplit("/", 1)[0] + "/" + "filmd_together"
    node.postgres.create_database("filmd_together")
    try:
        others = [pg_cli(url) for _ in range(4)]
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda n: n.cli("keys", "list"), others))
        assert [r.returncode for r in results] == [0] * 4, results
        assert [v for v, _ in versions(others[0])] == ["1", "2"]
    finally:
        node.postgres.drop_database("filmd_together")


def test_keys_cli_writes_postgres(pg_cli):
    node = pg_cli()
    created = json.loads(node.cli("keys", "create", "--role", "editor", "--name", "ops", check=True).stdout)
    assert node.sql(f"SELECT name, role, length(secret_hash) FROM api_keys WHERE id = '{created['id']}'") == [["ops", "editor", "32"]]
    revoked = json.loads(node.cli("keys", "revoke", created["id"], check=True).stdout)
    assert revoked["revoked_at"] >= created["created_at"]
    listed = [json.loads(line) for line in node.cli("keys", "list", check=True).stdout.splitlines()]
    assert [(k["id"], k["revoked_at"]) for k in listed] == [(created["id"], revoked["revoked_at"])]
    # Unreachable: an error that says so, without the password and without a crash.
    down = pg_cli("postgres://filmd:s3cret@127.0.0.1:1/filmd")
    for command in (["keys", "list"], ["export"]):
        proc = down.cli(*command)
        assert proc.returncode == 1 and b"Connection refused" in proc.stderr, proc
        assert b"s3cret" not in proc.stderr + proc.stdout and b"Fatal error" not in proc.stderr


def test_import_export_round_trip_and_an_import_that_fails_changes_nothing(pg_cli, tmp_path):
    node = pg_cli()
    source = tmp_path / "films.jsonl"
    rows = [{"name": f'Film "{i}", \\ part {i}', "studio": "Ghibli", "year": 1980 + i % 40, "likes": i, "dislikes": i % 3}
            for i in range(2500)] + [{"name": "No year", "studio": "Aardman", "year": None}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = node.cli("import", str(source))
    assert proc.returncode == 0, proc
    assert json.loads(proc.stdout) == {"imported": len(rows)}
    exported = node.cli("export", check=True).stdout.decode().splitlines()
    films = [json.loads(line) for line in exported]
    assert [f["id"] for f in films] == list(range(1, len(rows) + 1))  # ids in the file's order
    assert [{k: f.get(k, 0 if k in ("likes", "dislikes") else None) for k in r} for f, r in zip(films, rows)] == rows
    # The export reads back into another database as the same catalogue.
    copy = pg_cli()
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(exported) + "\n")
    assert copy.cli("import", str(dump)).returncode == 0
    assert copy.cli("export", check=True).stdout.decode().splitlines() == exported

    # A bad row: line-numbered, nothing stored.
    bad = tmp_path / "bad.csv"
    bad.write_text("name,studio,year\nUp,Pixar,2009\n,Pixar,2010\n")
    proc = node.cli("import", str(bad))
    assert proc.returncode == 65 and b"line 3" in proc.stderr and b"nothing imported" in proc.stderr
    # A failure inside the transaction, on the 2001st row: the first 2000 are rolled back too.
    node.sql("CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             "IF NEW.name = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$")
    node.sql("CREATE TRIGGER refuse_boom BEFORE INSERT ON films FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
    boom = tmp_path / "boom.csv"
    boom.write_text("name,studio,year\n" + "".join(f"F{i},S,2000\n" for i in range(2000)) + "boom,S,2000\n")
    proc = node.cli("import", str(boom))
    assert proc.returncode != 0 and count(node) == len(rows)
    assert b"Fatal error" not in proc.stderr


def test_backup_runs_pg_dump_or_says_what_to_run(pg_cli, tmp_path):
    node = pg_cli()
    node.cli("keys", "create", "--role", "reader", "--name", "r", check=True)
    dest = tmp_path / "films.dump"
    proc = node.cli("backup", str(dest))
    assert proc.returncode == 0, proc
    assert json.loads(proc.stdout) == {"backup": str(dest), "format": "pg_dump custom"}
    assert dest.read_bytes().startswith(b"PGDMP")
    listing = subprocess.run(["pg_restore", "--list", str(dest)], capture_output=True, text=True, check=True).stdout
    assert "TABLE public api_keys" in listing and "TABLE public films" in listing
    # Without pg_dump: no file, the command to run instead, the password never shown.
    secret = deep_merge(node.config, {"database": {"url": node.config["database"]["url"].replace("filmd@", "filmd:s3cret@")}})
    node.config_path.write_text(json.dumps(secret))
    missing = tmp_path / "missing.dump"
    proc = subprocess.run([FILMD_BIN, "backup", str(missing), "--config", str(node.config_path)], capture_output=True,
                          env={**node.env, "PATH": "/nonexistent"}, timeout=60)
    assert proc.returncode == 69 and not missing.exists()
    assert b"pg_dump --format=custom" in proc.stderr and b"s3cret" not in proc.stderr + proc.stdout
    shown = node.cli("check-config", check=True).stdout
    assert b"s3cret" not in shown and b"filmd:<redacted>@" in shown


def test_a_key_created_through_one_node_works_on_another_within_a_second(make_server, fresh_postgres_url):
    url = fresh_postgres_url()
    config = {"database": {"url": url}, "auth": {"anonymous_role": "none"}}
    node_a, node_b = make_server(config), make_server(config)

    def status(node, key):
        return node.request("GET", "/films", headers={"X-API-Key": key}).status

    def within_a_second(check):
        started = time.monotonic()
        while not check():
            assert time.monotonic() - started < 1.0, "not within a second"
            time.sleep(0.02)

    created = json.loads(node_a.cli("keys", "create", "--role", "reader", "--name", "a", check=True).stdout)
    within_a_second(lambda: status(node_b, created["key"]) == 200)
    node_b.cli("keys", "revoke", created["id"], check=True)
    within_a_second(lambda: status(node_a, created["key"]) == 401 and status(node_b, created["key"]) == 401)
    # PostgreSQL restarted: the nodes listen again by themselves and reload what changed meanwhile.
    node_a.postgres.restart(mode="fast")
    later = json.loads(node_b.cli("keys", "create", "--role", "reader", "--name", "b", check=True).stdout)
    started = time.monotonic()
    while status(node_a, later["key"]) != 200:
        assert time.monotonic() - started < 8.0, "no reconnect"
        time.sleep(0.05)
    node_a.wait_for_log(lambda r: r.get("msg") == "api key notifications restored; keys reloaded")
    assert not any("s3cret" in line or "password" in line.lower() for line in node_a.lines)
