"""SPEC §1.3: validation of film input (415, 413, 400 with `errors`, storage as given)."""
from __future__ import annotations

import json

import pytest

from live_helpers import (ModuleServer, add_film, assert_film, assert_problem, get_film,
                          parse_raw_response, header_of, raw_exchange, snapshot)

MAX_BODY = 2048
VALID = {"name": "Frozen", "studio": "Disney", "year": 2013}


@pytest.fixture(scope="module")
def vserver(tmp_path_factory):
    with ModuleServer(tmp_path_factory, {"limits": {"max_body_bytes": MAX_BODY}}, name="validation") as server:
        add_film(server, "Seed film", "Seed studio", 1999)
        yield server


def _post(server, path, body: bytes, ctype: str | None = "application/json"):
    headers = {"Content-Type": ctype} if ctype is not None else {}
    return server.request("POST", path, body=body, headers=headers)


# -- Content-Type ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/add_film", "/films"])
@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "text/json", "application/jsonx",
                                   "json", "application/xml"])
def test_wrong_or_missing_content_type_is_415(vserver, path, ctype):
    before = snapshot(vserver)
    resp = _post(vserver, path, json.dumps(VALID).encode(), ctype)
    assert_problem(resp, 415)
    assert snapshot(vserver) == before


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "application/json;charset=UTF-8",
                                   "Application/JSON"])
def test_json_content_type_with_parameters_is_accepted(vserver, ctype):
    resp = _post(vserver, "/add_film", json.dumps({**VALID, "name": f"CT {ctype}"}).encode(), ctype)
    assert resp.status == 201, resp
    assert_film(resp.json(), name=f"CT {ctype}")


# -- body size -----------------------------------------------------------------------------------

def _padded(total: int, name: str) -> bytes:
    body = json.dumps({"name": name, "studio": "Pad"}).encode()
    return body[:-1] + b" " * (total - len(body)) + b"}"


def test_body_at_the_limit_is_accepted(vserver):
    body = _padded(MAX_BODY, "Exactly at limit")
    assert len(body) == MAX_BODY
    resp = _post(vserver, "/add_film", body)
    assert resp.status == 201, resp


@pytest.mark.parametrize("path", ["/add_film", "/films"])
def test_body_over_the_limit_is_413(vserver, path):
    before = snapshot(vserver)
    assert_problem(_post(vserver, path, _padded(MAX_BODY + 1, "One byte over")), 413)
    assert_problem(_post(vserver, path, _padded(MAX_BODY * 8, "Far over")), 413)
    assert snapshot(vserver) == before


def test_patch_body_over_the_limit_is_413(vserver):
    film = add_film(vserver, "Patch target", "S", 2000)
    resp = vserver.request("PATCH", f"/films/{film['id']}", body=_padded(MAX_BODY + 100, "Too big"),
                           headers={"Content-Type": "application/json"})
    assert_problem(resp, 413)
    assert get_film(vserver, film["id"]) == film


def test_announced_oversize_body_is_413_without_waiting_for_it(vserver):
    before = snapshot(vserver)
    head = (b"POST /add_film HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000\r\n\r\n{\"name\":")
    status, headers, body = parse_raw_response(raw_exchange(vserver, head, timeout=5))
    assert status == 413
    assert (header_of(headers, "Content-Type") or "").startswith("application/problem+json")
    assert b"<html" not in body.lower()
    assert json.loads(body)["status"] == 413
    assert snapshot(vserver) == before


def test_chunked_body_over_the_limit_is_413(vserver):
    before = snapshot(vserver)
    head = (b"POST /add_film HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    payload = _padded(MAX_BODY * 3, "Chunked")
    chunks = [b"%x\r\n%s\r\n" % (len(payload[i:i + 1000]), payload[i:i + 1000]) for i in range(0, len(payload), 1000)]
    chunks.append(b"0\r\n\r\n")
    status, headers, body = parse_raw_response(raw_exchange(vserver, head, chunks=chunks, timeout=5))
    assert status == 413
    assert (header_of(headers, "Content-Type") or "").startswith("application/problem+json")
    assert b"<html" not in body.lower()
    assert snapshot(vserver) == before


def test_chunked_body_under_the_limit_is_accepted(vserver):
    head = (b"POST /add_film HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    payload = json.dumps({"name": "Chunked OK", "studio": "S", "year": 2001}).encode()
    chunks = [b"%x\r\n%s\r\n" % (len(payload[:10]), payload[:10]),
              b"%x\r\n%s\r\n" % (len(payload[10:]), payload[10:]), b"0\r\n\r\n"]
    status, headers, body = parse_raw_response(raw_exchange(vserver, head, chunks=chunks, timeout=5))
    assert status == 201, body
    assert json.loads(body[body.index(b"{"):body.rindex(b"}") + 1])["name"] == "Chunked OK"


# -- malformed JSON ------------------------------------------------------------------------------

INVALID_JSON = [
    (b"{", "open-brace"), (b"not json", "text"), (b"[]", "array"), (b'["Frozen","Disney"]', "array2"),
    (b'"Frozen"', "string"), (b"42", "number"), (b"null", "null"), (b"true", "true"), (b"", "empty"),
    (b'{"name":"a","studio":"b",}', "trailing-comma"), (b'{"name":"\xff\xfe","studio":"b"}', "bad-utf8"),
    (b"{'name':'a','studio':'b'}", "single-quotes"), (b'{"name":"a",/*c*/"studio":"b"}', "comment"),
    (b'{name:"a",studio:"b"}', "unquoted-keys"), (b'{"name":"a","studio":"b","year":NaN}', "nan"),
    (b'{"name":"a","studio":"b","year":0x7DD}', "hex"), (b'{"name":"a","studio":"b"} x', "trailing-garbage"),
    (b'{"name":"a","studio":"b"}{"x":1}', "two-documents"), (b'{"name":"a\\ud800","studio":"b"}', "lone-surrogate"),
]


@pytest.mark.parametrize("raw", [r for r, _ in INVALID_JSON], ids=[i for _, i in INVALID_JSON])
def test_invalid_json_or_non_object_is_400(vserver, raw):
    before = snapshot(vserver)
    assert_problem(_post(vserver, "/add_film", raw), 400)
    assert snapshot(vserver) == before


# -- field rules ---------------------------------------------------------------------------------

BAD_FIELDS = [
    ({"studio": "S"}, "name", "name-missing"),
    ({"name": "N"}, "studio", "studio-missing"),
    ({"name": "", "studio": "S"}, "name", "name-empty"),
    ({"name": "   ", "studio": "S"}, "name", "name-blank"),
    ({"name": " \t\n ", "studio": "S"}, "name", "name-whitespace"),
    ({"name": "x" * 201, "studio": "S"}, "name", "name-201"),
    ({"name": "é" * 201, "studio": "S"}, "name", "name-201-accented"),
    ({"name": 123, "studio": "S"}, "name", "name-number"),
    ({"name": None, "studio": "S"}, "name", "name-null"),
    ({"name": ["a"], "studio": "S"}, "name", "name-array"),
    ({"name": {"x": 1}, "studio": "S"}, "name", "name-object"),
    ({"name": "a\u0000b", "studio": "S"}, "name", "name-nul"),
    ({"name": "a\nb", "studio": "S"}, "name", "name-newline"),
    ({"name": "a\tb", "studio": "S"}, "name", "name-tab"),
    ({"name": "a\u001bb", "studio": "S"}, "name", "name-escape"),
    ({"name": "a\u007fb", "studio": "S"}, "name", "name-del"),
    ({"name": "a\u0085b", "studio": "S"}, "name", "name-c1"),
    ({"name": "N", "studio": ""}, "studio", "studio-empty"),
    ({"name": "N", "studio": "  "}, "studio", "studio-blank"),
    ({"name": "N", "studio": "x" * 101}, "studio", "studio-101"),
    ({"name": "N", "studio": "a\u0007b"}, "studio", "studio-bell"),
    ({"name": "N", "studio": 7}, "studio", "studio-number"),
    ({"name": "N", "studio": "S", "year": 1877}, "year", "year-1877"),
    ({"name": "N", "studio": "S", "year": 2101}, "year", "year-2101"),
    ({"name": "N", "studio": "S", "year": "2013"}, "year", "year-string"),
    ({"name": "N", "studio": "S", "year": 2013.5}, "year", "year-fraction"),
    ({"name": "N", "studio": "S", "year": True}, "year", "year-bool"),
    ({"name": "N", "studio": "S", "year": -2013}, "year", "year-negative"),
    ({"name": "N", "studio": "S", "year": 10 ** 30}, "year", "year-huge"),
    ({"name": "N", "studio": "S", "rating": 5}, "rating", "unknown-rating"),
    ({"name": "N", "studio": "S", "likes": 100}, "likes", "unknown-likes"),
    ({"name": "N", "studio": "S", "dislikes": 0}, "dislikes", "unknown-dislikes"),
    ({"name": "N", "studio": "S", "id": 1}, "id", "unknown-id"),
    ({"Name": "N", "name": "N", "studio": "S"}, "Name", "unknown-case"),
]


@pytest.mark.parametrize("path", ["/add_film", "/films"])
@pytest.mark.parametrize("body,field", [(b, f) for b, f, _ in BAD_FIELDS], ids=[i for _, _, i in BAD_FIELDS])
def test_invalid_field_is_400_naming_it(vserver, path, body, field):
    before = snapshot(vserver)
    problem = assert_problem(vserver.request("POST", path, json_body=body), 400)
    errors = problem.get("errors")
    assert isinstance(errors, list) and errors, problem
    for err in errors:
        assert isinstance(err, dict) and isinstance(err.get("field"), str) and isinstance(err.get("reason"), str), err
    assert field in [e["field"] for e in errors], problem
    assert snapshot(vserver) == before


def test_every_invalid_field_is_reported(vserver):
    body = {"name": "", "studio": "x" * 101, "year": 1800, "rating": 1}
    problem = assert_problem(vserver.request("POST", "/add_film", json_body=body), 400)
    fields = {e.get("field") for e in problem.get("errors", [])}
    assert {"name", "studio", "year", "rating"} <= fields, problem


GOOD = [
    ({"name": "x" * 200, "studio": "S"}, "x" * 200, "name-200"),
    ({"name": "é" * 200, "studio": "S"}, "é" * 200, "name-200-accented"),
    ({"name": "千と千尋の神隠し", "studio": "スタジオジブリ"}, "千と千尋の神隠し", "cjk"),
    ({"name": "🎬 Emoji", "studio": "S"}, "🎬 Emoji", "emoji"),
    ({"name": "  Padded  ", "studio": "S"}, "Padded", "trimmed"),
    ({"name": "Tom & Jerry's \"Quote\" \\ /", "studio": "S"}, "Tom & Jerry's \"Quote\" \\ /", "punctuation"),
    ({"name": "'; DROP TABLE films; --", "studio": "S"}, "'; DROP TABLE films; --", "sql-ish"),
    ({"name": "Robert'); --", "studio": "x\" OR \"1\"=\"1"}, "Robert'); --", "sql-ish-2"),
]


@pytest.mark.parametrize("body,stored_name", [(b, n) for b, n, _ in GOOD], ids=[i for _, _, i in GOOD])
def test_valid_names_are_stored_as_given(vserver, body, stored_name):
    resp = vserver.request("POST", "/add_film", json_body=body)
    assert resp.status == 201, resp
    film = assert_film(resp.json(), name=stored_name)
    assert get_film(vserver, film["id"])["name"] == stored_name


def test_studio_100_and_year_bounds_accepted(vserver):
    for year in (1878, 2100, None):
        film = add_film(vserver, f"Bounds {year}", "s" * 100, year)
        assert get_film(vserver, film["id"])["year"] == year
    resp = vserver.request("POST", "/add_film", json_body={"name": "Null year", "studio": "S", "year": None})
    assert resp.status == 201 and resp.json()["year"] is None, resp


def test_studio_is_trimmed(vserver):
    resp = vserver.request("POST", "/add_film", json_body={"name": "Trim studio", "studio": "  Gaumont  "})
    assert resp.status == 201, resp
    assert resp.json()["studio"] == "Gaumont"


def test_script_is_stored_verbatim_and_served_inert(vserver):
    name = "<script>alert('x')</script>"
    studio = "<img src=x onerror=alert(1)>"
    resp = vserver.request("POST", "/add_film", json_body={"name": name, "studio": studio, "year": 2000})
    assert resp.status == 201, resp
    film = resp.json()
    assert film["name"] == name and film["studio"] == studio
    got = vserver.request("GET", f"/films/{film['id']}")
    assert got.json()["name"] == name and got.json()["studio"] == studio
    assert b"&lt;" not in got.body and b"&#" not in got.body
    assert (got.header("Content-Type") or "").split(";")[0].strip() == "application/json"
    assert (got.header("X-Content-Type-Options") or "").lower() == "nosniff"
    assert (resp.header("X-Content-Type-Options") or "").lower() == "nosniff"


def test_nosniff_on_errors_too(vserver):
    resp = vserver.request("GET", "/films/999999")
    assert_problem(resp, 404)
    assert (resp.header("X-Content-Type-Options") or "").lower() == "nosniff"
