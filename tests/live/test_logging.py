"""Structured request logs and request ids (SPEC §5), read from the real binary's stdout."""
import json

REQUEST_KEYS = {"ts", "level", "msg", "http.request.method", "url.path", "http.route", "http.response.status_code",
                "duration_ms", "http.response.body.size", "client.address", "network.peer.address",
                "user_agent.original", "http.request.id", "auth.key_id", "ratelimit.decision"}


def request_lines(server, request_id=None, wait=True):
    """The request lines (of one request id), once the first has been written."""
    def wanted(r):
        return r.get("msg") == "request" and (request_id is None or r["http.request.id"] == request_id)
    if wait:
        server.wait_for_log(wanted, timeout=3)
    return [r for r in server.log_records() if wanted(r)]


def test_one_line_per_request_with_every_key(server):
    created = server.request("POST", "/films", json_body={"name": "Up", "studio": "Pixar"}, headers={"User-Agent": "tests/1.0"})
    [line] = request_lines(server, created.header("X-Request-ID"))
    assert REQUEST_KEYS <= line.keys()
    assert line["http.request.method"] == "POST" and line["url.path"] == "/films" and line["http.route"] == "/films"
    assert line["http.response.status_code"] == 201 and line["http.response.body.size"] == len(created.body)
    assert line["client.address"] == "127.0.0.1" and line["user_agent.original"] == "tests/1.0"
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    for method, path in [("GET", "/films/1"), ("HEAD", "/films/1"), ("DELETE", "/nowhere"), ("OPTIONS", "/films"),
                         ("PATCH", "/films/1")]:
        response = server.request(method, path)
        [entry] = request_lines(server, response.header("X-Request-ID"))
        assert entry["http.request.method"] == method and entry["http.response.status_code"] == response.status


def test_unknown_paths_are_not_routes(server):
    response = server.request("GET", "/secret/../../etc/passwd")
    [line] = request_lines(server, response.header("X-Request-ID"))
    assert line["http.route"] is None and line["url.path"] == "/secret/../../etc/passwd"


def test_rejected_requests_are_logged_with_a_security_event(server):
    response = server.request("POST", "/films", body=b"{", headers={"Content-Type": "application/json"})
    assert response.status == 400
    rid = response.header("X-Request-ID")
    [line] = request_lines(server, rid)
    assert line["http.response.status_code"] == 400 and line["security.event"] == "validation_failure"
    events = [r for r in server.log_records() if r.get("msg") == "security event" and r["http.request.id"] == rid]
    assert events and events[0]["security.event"] == "validation_failure" and events[0]["level"] == "warning"
    raw = server.raw(b"BROKEN\r\n\r\n")
    assert b"problem+json" in raw
    server.wait_for_log(lambda r: r.get("msg") == "request" and r["http.response.status_code"] == 400
                        and r["http.request.method"] == "_OTHER")


def test_credentials_cookies_and_bodies_are_never_logged(server):
    secret_bearer = "filmd_abc_PLANTEDBEARERSECRET123"
    secret_header = "filmd_def_PLANTEDHEADERSECRET456"
    server.request("GET", "/films", headers={"Authorization": f"Bearer {secret_bearer}", "X-API-Key": secret_header,
                                             "Cookie": "session=PLANTEDCOOKIE789"})
    server.request("POST", "/films", json_body={"name": "PLANTEDBODYNAME", "studio": "S"})
    server.stop()
    server.wait_for_log(lambda r: r.get("msg") == "stopped")  # every line read, up to the last
    output = "\n".join(server.lines)
    for planted in ["PLANTEDBEARERSECRET123", "PLANTEDHEADERSECRET456", "PLANTEDCOOKIE789", "PLANTEDBODYNAME"]:
        assert planted not in output


def test_control_characters_are_refused_or_escaped_and_long_values_capped(server):
    # C0 controls and DEL in a field value are refused before any handler (RFC 9110 §5.5: a
    # proxy may read them as white space), and the refusal's log line holds none of them.
    refused = server.request("GET", "/films", headers={"User-Agent": "evil\x1b[31mred\x7f"})
    assert refused.status == 400
    # C1 controls and line separators arrive as UTF-8 (obs-text to HTTP): logged escaped.
    agent = ("evil\u0085red\u2028" + "A" * 2000).encode().decode("latin-1")  # sent as its UTF-8 bytes
    response = server.request("GET", "/films", headers={"User-Agent": agent})
    assert response.status == 200
    for answered in (refused, response):
        server.wait_for_request_log(answered.header("X-Request-ID"))
    lines = [line for line in server.lines if '"request"' in line]
    assert lines and all("\x1b" not in line and "\x7f" not in line for line in lines)
    raw = [line for line in lines if response.header("X-Request-ID") in line]
    assert raw and "\u0085" not in raw[0] and "\u2028" not in raw[0]
    assert "evil\\u0085red\\u2028" in raw[0]
    entry = json.loads(raw[0])
    assert len(entry["user_agent.original"]) <= 260


def test_every_line_is_json_including_start_and_stop(server):
    server.request("GET", "/healthz")
    assert server.stop() == 0
    records = server.log_records()
    assert [r["msg"] for r in records][0] in {"listening", "catalogue seeded"}
    assert records[-1]["msg"] == "stopped"
    assert all("ts" in r and "level" in r and "msg" in r for r in records)


def test_request_ids(make_server):
    plain = make_server()
    generated = plain.request("GET", "/healthz", headers={"X-Request-ID": "from-a-client"})
    assert generated.header("X-Request-ID") != "from-a-client"  # untrusted peer: replaced
    trusting = make_server({"server": {"trusted_proxies": ["127.0.0.0/8"]}})
    kept = trusting.request("GET", "/healthz", headers={"X-Request-ID": "edge-42.a_b"})
    assert kept.header("X-Request-ID") == "edge-42.a_b"
    for bad in ["has space", "x" * 65, "semi;colon", ""]:
        replaced = trusting.request("GET", "/healthz", headers={"X-Request-ID": bad})
        assert replaced.header("X-Request-ID") not in (bad, None)
    problem = trusting.request("GET", "/nowhere", headers={"X-Request-ID": "edge-43"})
    assert problem.json()["request_id"] == "edge-43"
    ids = {plain.request("GET", "/healthz").header("X-Request-ID") for _ in range(50)}
    assert len(ids) == 50
