#!/usr/bin/env python3
"""Replay a Postman v2.1 collection against a live server and check its test scripts.

newman cannot be installed here, so this is a small stand-in for the subset of Postman the filmd
collection uses:

* requests in collection order (folders flattened), `{{variable}}` substitution in the URL,
  headers, auth and body; collection variables, overridable with `--var name=value`;
* auth: `noauth`, `apikey` (header) and `bearer`, set on the request or inherited from the
  collection; an auth header whose value resolves to an empty string is not sent;
* `test` scripts made only of these statements, one per line (anything else is an error, so the
  collection cannot silently use script this runner does not understand):

      pm.test("name", function () {          ...          });
      var json = pm.response.json();
      pm.response.to.have.status(201);
      pm.response.to.have.header("Location");
      pm.expect(EXPR).to.eql(VALUE);
      pm.expect(EXPR).to.include(VALUE);
      pm.expect(EXPR).to.be.a("string");     // string number boolean object array null
      pm.expect(EXPR).to.be.oneOf([VALUE, ...]);
      pm.expect(EXPR).to.be.above(NUMBER);
      pm.collectionVariables.set("filmId", EXPR);

  where EXPR is `json` followed by `.field`, `[index]` and `.length`, or
  `pm.response.headers.get("Name")`, `pm.response.code` or `pm.collectionVariables.get("name")`,
  and VALUE is a JSON literal or `pm.collectionVariables.get("name")`.

Usage: postman_runner.py COLLECTION --var baseUrl=http://127.0.0.1:3000 [--var apiKey=…]
       [--delay-ms N] [--json]
Exit status 0 when every request ran and every assertion passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

VAR_RE = re.compile(r"\{\{([A-Za-z0-9_.-]+)\}\}")


class ScriptError(Exception):
    """A statement this runner does not support (a defect of the collection, not of the server)."""


class AssertionFailed(Exception):
    pass


@dataclass
class HttpResult:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None


@dataclass
class TestOutcome:
    name: str
    passed: bool
    message: str = ""
    assertions: int = 0


@dataclass
class RequestOutcome:
    name: str
    method: str
    url: str
    status: int | None = None
    tests: list[TestOutcome] = field(default_factory=list)
    error: str | None = None
    asserted_statuses: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None and all(t.passed for t in self.tests)


# -- collection walking ----------------------------------------------------------------------
def flatten(items: list[dict], trail: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict]]:
    out = []
    for item in items:
        if "item" in item:
            out.extend(flatten(item["item"], trail + (item.get("name", ""),)))
        elif "request" in item:
            out.append((trail, item))
    return out


def substitute(text: str, variables: dict[str, Any]) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name not in variables:
            return m.group(0)  # Postman leaves unknown variables as they are
        value = variables[name]
        return "" if value is None else (json.dumps(value) if isinstance(value, bool) else str(value))
    return VAR_RE.sub(repl, text)


def request_url(request: dict) -> str:
    url = request["url"]
    return url if isinstance(url, str) else url["raw"]


def auth_headers(auth: dict | None, variables: dict[str, Any]) -> list[tuple[str, str]]:
    if not auth or auth.get("type") in (None, "noauth"):
        return []
    kind = auth["type"]
    params = {p["key"]: substitute(str(p.get("value", "")), variables) for p in auth.get(kind, [])}
    if kind == "apikey":
        if params.get("in", "header") != "header":
            raise ScriptError("API keys are only ever sent in a header")
        value = params.get("value", "")
        return [(params.get("key", "X-API-Key"), value)] if value else []
    if kind == "bearer":
        token = params.get("token", "")
        return [("Authorization", f"Bearer {token}")] if token else []
    raise ScriptError(f"unsupported auth type {kind!r}")


# -- HTTP ------------------------------------------------------------------------------------
def send(method: str, url: str, headers: list[tuple[str, str]], body: bytes | None, timeout: float) -> HttpResult:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        names = {k.lower() for k, _ in headers}
        for k, v in headers:
            conn.putheader(k, v)
        if "user-agent" not in names:
            conn.putheader("User-Agent", "filmd-postman-runner")
        if "accept" not in names:
            conn.putheader("Accept", "*/*")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return HttpResult(resp.status, resp.reason, resp.getheaders(), data)
    finally:
        conn.close()


# -- the script subset -----------------------------------------------------------------------
_STR = r'"(?:[^"\\]|\\.)*"'
TEST_OPEN = re.compile(rf'^pm\.test\(({_STR}),\s*function\s*\(\)\s*\{{$')
TEST_CLOSE = re.compile(r"^\}\);?$")
JSON_DECL = re.compile(r"^(?:var|let|const)\s+json\s*=\s*pm\.response\.json\(\);?$")
STATUS = re.compile(r"^pm\.response\.to\.have\.status\((\d{3})\);?$")
HAS_HEADER = re.compile(rf"^pm\.response\.to\.have\.header\(({_STR})\);?$")
EXPECT = re.compile(r"^pm\.expect\((.+?)\)\.(to\.eql|to\.include|to\.be\.a|to\.be\.oneOf|to\.be\.above)\((.*)\);?$")
SET_VAR = re.compile(rf"^pm\.collectionVariables\.set\(({_STR}),\s*(.+)\);?$")
GET_VAR = re.compile(rf"^pm\.collectionVariables\.get\(({_STR})\)$")
GET_HEADER = re.compile(rf"^pm\.response\.headers\.get\(({_STR})\)$")
JSON_PATH = re.compile(r"^json((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)$")
PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")

_MISSING = object()  # JavaScript's undefined


class ScriptContext:
    def __init__(self, response: HttpResult, variables: dict[str, Any]):
        self.response = response
        self.variables = variables
        self.json: Any = _MISSING
        self.json_error: str | None = None

    def parse_json(self) -> None:
        try:
            self.json = json.loads(self.response.body.decode("utf-8"))
            self.json_error = None
        except (UnicodeDecodeError, ValueError) as exc:
            self.json = _MISSING
            self.json_error = f"pm.response.json(): the body is not JSON ({exc.__class__.__name__})"

    def eval_expr(self, expr: str) -> Any:
        expr = expr.strip()
        if m := GET_VAR.match(expr):
            return self.variables.get(json.loads(m.group(1)), _MISSING)
        if m := GET_HEADER.match(expr):
            value = self.response.header(json.loads(m.group(1)))
            return _MISSING if value is None else value
        if expr == "pm.response.code":
            return self.response.status
        if m := JSON_PATH.match(expr):
            if self.json is _MISSING:
                raise AssertionFailed(self.json_error or "json is not defined")
            value = self.json
            for step in PATH_STEP.finditer(m.group(1)):
                key, index = step.group(1), step.group(2)
                if value is _MISSING or value is None:
                    raise AssertionFailed(f"TypeError: cannot read {key or index} of {expr}")
                if key == "length" and isinstance(value, (list, str)):
                    value = len(value)
                elif key is not None:
                    value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
                else:
                    i = int(index)
                    value = value[i] if isinstance(value, list) and i < len(value) else _MISSING
            return value
        raise ScriptError(f"unsupported expression: {expr}")

    def eval_value(self, text: str) -> Any:
        text = text.strip()
        if GET_VAR.match(text) or GET_HEADER.match(text) or JSON_PATH.match(text) or text == "pm.response.code":
            return self.eval_expr(text)
        try:
            return json.loads(text)
        except ValueError:
            raise ScriptError(f"unsupported value: {text}") from None


def js_repr(value: Any) -> str:
    return "undefined" if value is _MISSING else json.dumps(value, ensure_ascii=False)[:200]


def js_type(value: Any) -> str:
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def deep_equal(a: Any, b: Any) -> bool:
    if js_type(a) != js_type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    return a == b


def check_expect(ctx: ScriptContext, expr: str, matcher: str, arg: str) -> None:
    actual = ctx.eval_expr(expr)
    if matcher == "to.eql":
        expected = ctx.eval_value(arg)
        if not deep_equal(actual, expected):
            raise AssertionFailed(f"expected {js_repr(actual)} to deeply equal {js_repr(expected)}")
    elif matcher == "to.include":
        expected = ctx.eval_value(arg)
        if isinstance(actual, str) and isinstance(expected, str):
            ok = expected in actual
        elif isinstance(actual, list):
            ok = any(deep_equal(x, expected) for x in actual)
        else:
            ok = False
        if not ok:
            raise AssertionFailed(f"expected {js_repr(actual)} to include {js_repr(expected)}")
    elif matcher == "to.be.a":
        expected = ctx.eval_value(arg)
        if expected not in ("string", "number", "boolean", "object", "array", "null", "undefined"):
            raise ScriptError(f"unsupported type name {expected!r}")
        if js_type(actual) != expected:
            raise AssertionFailed(f"expected {js_repr(actual)} to be a {expected}")
    elif matcher == "to.be.oneOf":
        options = ctx.eval_value(arg)
        if not isinstance(options, list):
            raise ScriptError("oneOf takes an array literal")
        if not any(deep_equal(actual, o) for o in options):
            raise AssertionFailed(f"expected {js_repr(actual)} to be one of {js_repr(options)}")
    elif matcher == "to.be.above":
        bound = ctx.eval_value(arg)
        if js_type(actual) != "number" or not actual > bound:
            raise AssertionFailed(f"expected {js_repr(actual)} to be above {bound}")


def parse_script(lines: list[str]) -> list[tuple[str | None, list[str]]]:
    """Split a script into top-level statements (test name None) and pm.test blocks."""
    blocks: list[tuple[str | None, list[str]]] = []
    current: tuple[str, list[str]] | None = None
    for raw in lines:
        for line in raw.split("\n"):
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            if m := TEST_OPEN.match(line):
                if current is not None:
                    raise ScriptError("nested pm.test")
                current = (json.loads(m.group(1)), [])
            elif TEST_CLOSE.match(line):
                if current is None:
                    raise ScriptError("'});' without pm.test")
                blocks.append(current)
                current = None
            elif current is not None:
                current[1].append(line)
            else:
                blocks.append((None, [line]))
    if current is not None:
        raise ScriptError(f"pm.test {current[0]!r} is not closed")
    return blocks


def validate_statement(line: str) -> None:
    """Raise ScriptError for a statement outside the supported subset (no server needed)."""
    if JSON_DECL.match(line) or STATUS.match(line) or HAS_HEADER.match(line):
        return
    if m := EXPECT.match(line):
        expr, arg = m.group(1), m.group(3)
        if not (GET_VAR.match(expr) or GET_HEADER.match(expr) or JSON_PATH.match(expr) or expr == "pm.response.code"):
            raise ScriptError(f"unsupported expression: {expr}")
        if not (GET_VAR.match(arg) or GET_HEADER.match(arg) or JSON_PATH.match(arg)):
            try:
                json.loads(arg)
            except ValueError:
                raise ScriptError(f"unsupported value: {arg}") from None
        return
    if m := SET_VAR.match(line):
        expr = m.group(2).strip()
        if not (GET_VAR.match(expr) or GET_HEADER.match(expr) or JSON_PATH.match(expr)):
            try:
                json.loads(expr)
            except ValueError:
                raise ScriptError(f"unsupported value: {expr}") from None
        return
    raise ScriptError(f"unsupported statement: {line}")


def run_statement(ctx: ScriptContext, line: str, outcome: RequestOutcome) -> None:
    if JSON_DECL.match(line):
        ctx.parse_json()
        if ctx.json_error:
            raise AssertionFailed(ctx.json_error)
    elif m := STATUS.match(line):
        expected = int(m.group(1))
        outcome.asserted_statuses.append(expected)
        if ctx.response.status != expected:
            raise AssertionFailed(f"expected response to have status code {expected} but got {ctx.response.status}")
    elif m := HAS_HEADER.match(line):
        name = json.loads(m.group(1))
        if ctx.response.header(name) is None:
            raise AssertionFailed(f"expected response to have header {name}")
    elif m := EXPECT.match(line):
        check_expect(ctx, m.group(1), m.group(2), m.group(3))
    elif m := SET_VAR.match(line):
        value = ctx.eval_value(m.group(2))
        ctx.variables[json.loads(m.group(1))] = None if value is _MISSING else value
    else:
        raise ScriptError(f"unsupported statement: {line}")


def test_scripts(item: dict) -> list[str]:
    lines: list[str] = []
    for event in item.get("event", []):
        if event.get("listen") == "test":
            exec_ = event.get("script", {}).get("exec", [])
            lines.extend(exec_ if isinstance(exec_, list) else [exec_])
        elif event.get("listen") == "prerequest" and event.get("script", {}).get("exec"):
            raise ScriptError("pre-request scripts are not supported")
    return lines


def validate_collection(collection: dict) -> list[str]:
    """Problems with the collection that need no server: unsupported script, missing status asserts."""
    problems = []
    for trail, item in flatten(collection.get("item", [])):
        name = " / ".join(trail + (item["name"],))
        try:
            blocks = parse_script(test_scripts(item))
            statements = [s for _, body in blocks for s in body]
            for statement in statements:
                validate_statement(statement)
            if not any(STATUS.match(s) for s in statements):
                problems.append(f"{name}: no pm.response.to.have.status(...) assertion")
            if not any(test_name is not None for test_name, _ in blocks):
                problems.append(f"{name}: no pm.test")
        except ScriptError as exc:
            problems.append(f"{name}: {exc}")
    return problems


# -- running ---------------------------------------------------------------------------------
def run_collection(collection: dict, overrides: dict[str, str] | None = None, delay_ms: int = 0,
                   timeout: float = 15.0, log=None) -> list[RequestOutcome]:
    variables: dict[str, Any] = {v["key"]: v.get("value", "") for v in collection.get("variable", [])}
    variables.update(overrides or {})
    collection_auth = collection.get("auth")
    outcomes: list[RequestOutcome] = []
    for index, (trail, item) in enumerate(flatten(collection.get("item", []))):
        if index and delay_ms:
            time.sleep(delay_ms / 1000)
        request = item["request"]
        method = request.get("method", "GET").upper()
        name = " / ".join(trail + (item["name"],))
        url = substitute(request_url(request), variables)
        outcome = RequestOutcome(name=name, method=method, url=url)
        outcomes.append(outcome)
        try:
            headers = [(h["key"], substitute(str(h.get("value", "")), variables))
                       for h in request.get("header", []) if not h.get("disabled")]
            auth = request.get("auth", collection_auth)
            if isinstance(auth, dict) and auth.get("type") == "inherit":
                auth = collection_auth
            headers.extend(auth_headers(auth, variables))
            body = None
            if request.get("body"):
                if request["body"].get("mode") != "raw":
                    raise ScriptError("only raw bodies are supported")
                body = substitute(request["body"].get("raw", ""), variables).encode("utf-8")
            blocks = parse_script(test_scripts(item))
            response = send(method, url, headers, body, timeout)
            outcome.status = response.status
            ctx = ScriptContext(response, variables)
            for test_name, statements in blocks:
                label = test_name if test_name is not None else "(script)"
                result = TestOutcome(label, True)
                try:
                    for statement in statements:
                        result.assertions += 1
                        run_statement(ctx, statement, outcome)
                except AssertionFailed as exc:
                    result.passed, result.message = False, str(exc)
                if test_name is not None or not result.passed:
                    outcome.tests.append(result)
                if test_name is None and not result.passed:
                    break  # a top-level error stops the script, as in Postman
        except ScriptError as exc:
            outcome.error = f"unsupported script: {exc}"
        except (OSError, http.client.HTTPException, ValueError) as exc:
            outcome.error = f"request failed: {exc.__class__.__name__}: {exc}"
        if log:
            log(format_outcome(outcome))
    return outcomes


def format_outcome(o: RequestOutcome) -> str:
    mark = "ok  " if o.passed else "FAIL"
    lines = [f"{mark} {o.method:6} {o.status if o.status is not None else '---'} {o.name}"]
    if o.error:
        lines.append(f"       error: {o.error}")
    for t in o.tests:
        if not t.passed:
            lines.append(f"       ✗ {t.name}: {t.message}")
    return "\n".join(lines)


def summary(outcomes: list[RequestOutcome]) -> str:
    tests = [t for o in outcomes for t in o.tests]
    failed_requests = sum(1 for o in outcomes if not o.passed)
    return (f"postman_runner: {len(outcomes)} requests ({failed_requests} failing); "
            f"{sum(t.passed for t in tests)} of {len(tests)} tests passed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replay a Postman v2.1 collection against a live server.")
    parser.add_argument("collection")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="set a collection variable (e.g. baseUrl=http://127.0.0.1:3000)")
    parser.add_argument("--delay-ms", type=int, default=0, help="pause between requests")
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    args = parser.parse_args(argv)
    with open(args.collection, encoding="utf-8") as f:
        collection = json.load(f)
    problems = validate_collection(collection)
    if problems:
        for p in problems:
            print(f"collection: {p}", file=sys.stderr)
        return 2
    overrides = {}
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--var needs NAME=VALUE, got {item!r}")
        overrides[name] = value
    outcomes = run_collection(collection, overrides, args.delay_ms, log=None if args.json else print)
    if args.json:
        print(json.dumps([o.__dict__ | {"tests": [t.__dict__ for t in o.tests], "passed": o.passed} for o in outcomes], indent=2))
    print(summary(outcomes), file=sys.stderr if args.json else sys.stdout)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
