"""Helpers shared by the client suites (tests/live/test_openapi.py, test_postman.py, test_console.py)."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OPENAPI_PATH = REPO / "assets" / "openapi.json"
COLLECTION_PATH = REPO / "postman" / "filmd.postman_collection.json"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# `filmd routes` lists one entry per route template and method, without OPTIONS and without the
# HEAD that every GET route implies; an explicit HEAD (HEAD /add_film) is listed and compared.


SEED_FILMS = [
    {"name": "Frozen", "studio": "Disney", "year": 2013},
    {"name": "Spirited Away", "studio": "Studio Ghibli", "year": 2001},
    {"name": "Paddington 2", "studio": "StudioCanal", "year": 2017},
    {"name": "Metropolis", "studio": "UFA", "year": 1927},
    {"name": "The Red Turtle", "studio": "Studio Ghibli", "year": None},
]


def load_openapi() -> dict:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def load_collection() -> dict:
    return json.loads(COLLECTION_PATH.read_text(encoding="utf-8"))


def normalize_template(path: str) -> str:
    """'/films/{id}' and '/films/{film_id}' are the same route: parameter names do not matter."""
    return re.sub(r"\{[^/{}]+\}", "{}", path)


def _without_implied(ops: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Drops OPTIONS and the HEAD of paths that have GET."""
    gets = {path for method, path in ops if method == "GET"}
    return {(m, p) for m, p in ops if m != "OPTIONS" and not (m == "HEAD" and p in gets)}


def openapi_operations(doc: dict) -> set[tuple[str, str]]:
    ops = set()
    for path, item in doc.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                ops.add((method.upper(), normalize_template(path)))
    return _without_implied(ops)


class RoutesUnavailable(Exception):
    pass


def server_routes(filmd_bin: str, cwd: Path | None = None) -> set[tuple[str, str]]:
    """The server's route table, from `filmd routes` (JSON list of {"method", "path"})."""
    try:
        proc = subprocess.run([filmd_bin, "routes"], capture_output=True, timeout=30, cwd=cwd,
                              stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise RoutesUnavailable(f"cannot run {filmd_bin} routes: {exc}") from exc
    if proc.returncode != 0:
        raise RoutesUnavailable(f"`filmd routes` exited {proc.returncode}: "
                                f"{(proc.stderr or proc.stdout).decode('utf-8', 'replace')[:500]}")
    try:
        table = json.loads(proc.stdout)
        return _without_implied({(str(r["method"]).upper(), normalize_template(str(r["path"]))) for r in table})
    except (ValueError, TypeError, KeyError) as exc:
        raise RoutesUnavailable(f"`filmd routes` did not print a JSON list of {{method, path}}: "
                                f"{proc.stdout[:300]!r}") from exc


def route_for(path: str, templates: set[str]) -> str | None:
    """The route template a concrete path belongs to (the most literal match wins)."""
    path = path.split("?", 1)[0] or "/"
    segments = path.strip("/").split("/") if path != "/" else []
    best, best_literals = None, -1
    for template in templates:
        t_segments = template.strip("/").split("/") if template != "/" else []
        if len(t_segments) != len(segments):
            continue
        literals = 0
        for t, s in zip(t_segments, segments):
            if t == "{}":
                if not s:
                    break
            elif t != s:
                break
            else:
                literals += 1
        else:
            if literals > best_literals:
                best, best_literals = template, literals
    return best


def collection_operations(collection: dict, templates: set[str]) -> set[tuple[str, str]]:
    """(method, route template) of every request of a Postman collection."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from postman_runner import flatten, request_url

    ops = set()
    for _, item in flatten(collection.get("item", [])):
        raw = request_url(item["request"])
        path = re.sub(r"^\{\{baseUrl\}\}", "", raw)
        path = re.sub(r"\{\{[^}]+\}\}", "1", path)  # a variable in a segment stands for a value
        template = route_for(path, templates)
        if template is not None:
            ops.add((item["request"]["method"].upper(), template))
    return ops


KEY_RE = re.compile(r"filmd_[A-Za-z0-9_\-]+")


def create_key(server, role: str, name: str) -> tuple[str | None, str]:
    """Create an API key with `filmd keys create`; returns (key or None, the CLI's output)."""
    proc = server.cli("keys", "create", "--role", role, "--name", name)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        return None, f"exit {proc.returncode}: {out} {err}"
    for line in out.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            for field in ("key", "api_key", "secret", "token"):
                value = record.get(field)
                if isinstance(value, str) and value.startswith("filmd_"):
                    return value, out
    candidates = KEY_RE.findall(out)
    return (max(candidates, key=len) if candidates else None), out


def seed(server, films=SEED_FILMS, headers: dict | None = None) -> list[dict]:
    stored = []
    for film in films:
        resp = server.request("POST", "/films", json_body={k: v for k, v in film.items()}, headers=headers)
        assert resp.status == 201, f"seeding failed: {resp!r}"
        stored.append(resp.json())
    return stored
