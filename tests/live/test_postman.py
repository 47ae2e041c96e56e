"""The Postman collection (postman/filmd.postman_collection.json) covers every route and passes,
request by request, against a live filmd, replayed by tests/clients/postman_runner.py."""
from __future__ import annotations

import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from filmd_server import FILMD_BIN, REPO

sys.path.insert(0, str(REPO / "tests" / "clients"))
import postman_runner as runner  # noqa: E402
from client_support import (  # noqa: E402
    RoutesUnavailable, collection_operations, create_key, load_collection, load_openapi,
    openapi_operations, server_routes,
)

SCHEMA_V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


# -- the collection itself -------------------------------------------------------------------
def test_collection_is_v2_1_with_base_url_and_api_key_variables():
    collection = load_collection()
    assert collection["info"]["schema"] == SCHEMA_V21
    variables = {v["key"] for v in collection["variable"]}
    assert {"baseUrl", "apiKey"} <= variables
    auth = collection["auth"]
    assert auth["type"] == "apikey"
    params = {p["key"]: p["value"] for p in auth["apikey"]}
    assert params == {"key": "X-API-Key", "value": "{{apiKey}}", "in": "header"}


def test_every_request_uses_base_url_and_keeps_keys_out_of_urls():
    for trail, item in runner.flatten(load_collection()["item"]):
        url = item["request"]["url"]
        where = " / ".join(trail + (item["name"],))
        assert url["raw"].startswith("{{baseUrl}}/"), where
        assert url["host"] == ["{{baseUrl}}"], where
        # the structured URL (what Postman sends) and the raw one agree
        rebuilt = "{{baseUrl}}/" + "/".join(url["path"])
        if url.get("query"):
            rebuilt += "?" + "&".join(f"{q['key']}={q['value']}" for q in url["query"])
        assert rebuilt == url["raw"], where
        query = url["raw"].partition("?")[2]
        assert not re.search(r"(?i)key|token|secret", query), f"{where}: a key in the URL"


def test_every_script_is_in_the_runner_subset_and_asserts_a_status():
    assert runner.validate_collection(load_collection()) == []


def test_collection_chains_the_film_lifecycle():
    requests = [(item["request"]["method"], item["request"]["url"]["raw"], item)
                for _, item in runner.flatten(load_collection()["item"])]
    sets_film_id = [i for i, (_, _, item) in enumerate(requests)
                    if 'pm.collectionVariables.set("filmId", json.id);' in runner.test_scripts(item)]
    assert sets_film_id, "no request saves filmId"
    first = sets_film_id[0]
    assert requests[first][0] == "POST"
    after = [(m, u) for m, u, _ in requests[first + 1:]]
    order = [("POST", "{{baseUrl}}/films/{{filmId}}/like"), ("GET", "{{baseUrl}}/films/{{filmId}}"),
             ("PATCH", "{{baseUrl}}/films/{{filmId}}"), ("DELETE", "{{baseUrl}}/films/{{filmId}}")]
    positions = [after.index(step) for step in order]
    assert positions == sorted(positions), f"add → like → get → patch → delete out of order: {positions}"


def test_collection_covers_every_documented_operation():
    doc_ops = openapi_operations(load_openapi())
    templates = {path for _, path in doc_ops}
    covered = collection_operations(load_collection(), templates)
    missing = sorted(doc_ops - covered)
    assert not missing, f"operations of assets/openapi.json with no request in the collection: {missing}"


def test_collection_covers_every_server_route(tmp_path):
    try:
        routes = server_routes(FILMD_BIN, cwd=tmp_path)
    except RoutesUnavailable as exc:
        pytest.fail(f"the server must print its route table with `filmd routes`: {exc}")
    covered = collection_operations(load_collection(), {path for _, path in routes})
    missing = sorted(routes - covered)
    assert not missing, f"server routes with no request in the collection: {missing}"


# -- the runner, against a tiny in-process server (so that a broken runner fails here) -------
class _Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body, headers=()):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self._reply(201, {"id": 7, "name": body.get("name"), "tags": ["a", "b"]},
                    [("Location", "/films/7"), ("X-Seen-Key", self.headers.get("X-API-Key") or "")])

    def do_GET(self):
        self._reply(200, {"id": int(self.path.rsplit("/", 1)[-1]), "key": self.headers.get("X-API-Key")})


@pytest.fixture
def fake_base_url():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _item(name, method, path, exec_lines, body=None, auth=None):
    request = {"method": method, "header": [], "url": {"raw": "{{baseUrl}}" + path}}
    if body is not None:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {"mode": "raw", "raw": body}
    if auth is not None:
        request["auth"] = auth
    return {"name": name, "request": request,
            "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": exec_lines}}]}


def test_runner_chains_variables_and_reports_each_failed_assertion(fake_base_url):
    collection = {
        "info": {"schema": SCHEMA_V21},
        "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "X-API-Key"}, {"key": "value", "value": "{{apiKey}}"},
                                               {"key": "in", "value": "header"}]},
        "variable": [{"key": "baseUrl", "value": "http://unused"}, {"key": "apiKey", "value": ""}],
        "item": [{"name": "folder", "item": [
            _item("add", "POST", "/films", [
                "var json = pm.response.json();",
                'pm.test("created", function () {', "pm.response.to.have.status(201);", "});",
                'pm.test("fields", function () {', 'pm.expect(json.name).to.eql("Heat");',
                'pm.expect(json.tags.length).to.eql(2);', 'pm.expect(json.tags[1]).to.eql("b");',
                'pm.expect(json.id).to.be.a("number");', 'pm.expect(json.tags).to.include("a");',
                'pm.expect(pm.response.headers.get("Location")).to.include("/films/");',
                'pm.expect(pm.response.headers.get("X-Seen-Key")).to.eql("filmd_k");',
                'pm.response.to.have.header("Location");', "});",
                'pm.collectionVariables.set("filmId", json.id);',
            ], body='{"name": "Heat"}'),
            _item("get", "GET", "/films/{{filmId}}", [
                "var json = pm.response.json();",
                'pm.test("status", function () {', "pm.response.to.have.status(200);", "});",
                'pm.test("chained id", function () {', 'pm.expect(json.id).to.eql(pm.collectionVariables.get("filmId"));', "});",
                'pm.test("wrong on purpose", function () {', "pm.expect(json.id).to.eql(8);",
                'pm.expect(json.id).to.be.oneOf([1, 2]);', "});",
            ]),
            _item("no auth", "GET", "/films/1", [
                "var json = pm.response.json();",
                'pm.test("status", function () {', "pm.response.to.have.status(404);", "});",
                'pm.test("no key sent", function () {', "pm.expect(json.key).to.eql(null);", "});",
            ], auth={"type": "noauth"}),
        ]}],
    }
    outcomes = runner.run_collection(collection, {"baseUrl": fake_base_url, "apiKey": "filmd_k"})
    add, get, noauth = outcomes
    assert add.passed, runner.format_outcome(add)
    assert add.asserted_statuses == [201]
    assert get.url.endswith("/films/7")
    assert [(t.name, t.passed) for t in get.tests] == [("status", True), ("chained id", True), ("wrong on purpose", False)]
    assert "to deeply equal 8" in get.tests[2].message
    assert not noauth.passed and noauth.tests[0].message.endswith("404 but got 200")
    assert noauth.tests[1].passed  # noauth: X-API-Key not sent


def test_runner_rejects_script_outside_its_subset():
    collection = {"item": [_item("x", "GET", "/", ['pm.test("t", function () {',
                                                    "pm.response.to.have.status(200);",
                                                    "if (pm.response.code === 200) { postman.setNextRequest(null); }", "});"])]}
    problems = runner.validate_collection(collection)
    assert problems and "unsupported statement" in problems[0]
    missing_status = {"item": [_item("y", "GET", "/", ['pm.test("t", function () {', 'pm.expect(pm.response.code).to.eql(200);', "});"])]}
    assert "no pm.response.to.have.status" in runner.validate_collection(missing_status)[0]


# -- the collection against the live server --------------------------------------------------
def test_collection_passes_against_live_filmd(make_server, capsys):
    """Real keys when `filmd keys create` works: anonymous requests may only vote (the default),
    `apiKey` is an admin key and `readerKey` a reader key. Without the keys CLI the run falls back
    to an anonymous admin, and the 403 request fails."""
    server = make_server({"auth": {"anonymous_role": "voter"}}, start=False)
    admin_key, admin_out = create_key(server, "admin", "postman-admin")
    reader_key, reader_out = create_key(server, "reader", "postman-reader")
    note = ""
    if not admin_key or not reader_key:
        server.config["auth"]["anonymous_role"] = "admin"
        server.config_path.write_text(json.dumps(server.config, indent=2))
        note = f" (no keys: `filmd keys create` gave {admin_out.strip()[:200]!r})"
    server.start()
    overrides = {"baseUrl": server.base_url, "apiKey": admin_key or "", "readerKey": reader_key or ""}
    lines: list[str] = []
    outcomes = runner.run_collection(load_collection(), overrides, log=lines.append)
    with capsys.disabled():
        print("\n" + runner.summary(outcomes) + note)
        for o in outcomes:
            if not o.passed:
                print(runner.format_outcome(o))
    failing = [runner.format_outcome(o) for o in outcomes if not o.passed]
    assert not failing, f"{len(failing)} of {len(outcomes)} requests failed{note}:\n" + "\n".join(failing)
    assert all(o.asserted_statuses for o in outcomes)
    # Keys travel in headers only: the server never saw one in a URL.
    for o in outcomes:
        for secret in filter(None, (admin_key, reader_key)):
            assert secret not in o.url
