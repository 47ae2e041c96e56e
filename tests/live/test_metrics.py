"""GET /metrics on the real binary, read with the Prometheus project's own text parser.

Each test starts its own filmd, so every count it sees is of its own requests: a scrape is
taken, requests are made, a second scrape must show exactly those requests (`recorded`, which
discounts the first scrape: it is recorded after it was rendered).
"""
from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from prometheus_client.parser import text_string_to_metric_families

from filmd_server import FILMD_BIN
from live_helpers import add_film

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION = "http_server_request_duration_seconds"
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "_OTHER"}
OTEL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]

# The families of SPEC §5 with their types. The parser names a counter family without its
# `_total` suffix (the samples keep it).
REQUIRED = {
    DURATION: "histogram",
    "http_server_active_requests": "gauge",
    "filmd_ratelimit_decisions": "counter",
    "filmd_ratelimit_tracked_clients": "gauge",
    "filmd_auth_failures": "counter",
    "filmd_db_errors": "counter",
    "filmd_build_info": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge",
    "process_open_fds": "gauge",
}


def scrape(server) -> tuple[str, dict]:
    resp = server.request("GET", "/metrics")
    assert resp.status == 200, resp
    text = resp.body.decode("utf-8")
    return text, {family.name: family for family in text_string_to_metric_families(text)}


def request_counts(families: dict) -> Counter:
    """(method, route, status) -> requests, from the histogram's `_count` samples."""
    counts: Counter = Counter()
    for sample in families[DURATION].samples:
        if sample.name == DURATION + "_count":
            labels = sample.labels
            key = (labels["http_request_method"], labels["http_route"], labels["http_response_status_code"])
            counts[key] = int(sample.value)
    return counts


@contextmanager
def recorded(server):
    """Yields a Counter that, after the block, holds (method, route, status) -> requests the
    block made: the difference of two scrapes, less the first scrape itself."""
    _, before = scrape(server)
    delta: Counter = Counter()
    yield delta
    _, after = scrape(server)
    delta.update(request_counts(after))
    delta.subtract(request_counts(before))
    delta[("GET", "/metrics", "200")] -= 1
    for key in [key for key, n in delta.items() if n == 0]:
        del delta[key]


def label_values(families: dict) -> set[str]:
    """Every label value of every sample (sample values are numbers and may hold any digits)."""
    return {value for family in families.values() for sample in family.samples for value in sample.labels.values()}


def call(server, *requests: tuple[str, str, int]) -> None:
    """Makes each (method, path, expected status) request."""
    for method, path, status in requests:
        resp = server.request(method, path)
        assert resp.status == status, (method, path, resp)


def server_routes() -> set[str]:
    out = subprocess.run([FILMD_BIN, "routes"], capture_output=True, check=True, timeout=30).stdout
    return {route["path"] for route in json.loads(out)}


def test_metrics_is_prometheus_text_0_0_4(server):
    resp = server.request("GET", "/metrics")
    assert resp.status == 200, resp
    assert resp.header("Content-Type") == CONTENT_TYPE
    head = server.request("HEAD", "/metrics")
    assert head.status == 200 and head.body == b"", head
    assert head.header("Content-Type") == CONTENT_TYPE


def test_every_required_family_is_present_with_its_type(server):
    _, families = scrape(server)
    for name, kind in REQUIRED.items():
        assert name in families, f"{name} missing; have {sorted(families)}"
        assert families[name].type == kind, f"{name} is {families[name].type}, not {kind}"
    [build] = families["filmd_build_info"].samples
    assert build.value == 1 and build.labels["version"] and build.labels["swift"], build
    [tracked] = families["filmd_ratelimit_tracked_clients"].samples
    assert tracked.value >= 0
    [db_errors] = families["filmd_db_errors"].samples
    assert db_errors.name == "filmd_db_errors_total" and db_errors.value == 0
    assert families["process_resident_memory_bytes"].samples[0].value > 0
    assert families["process_open_fds"].samples[0].value > 0
    assert families["process_start_time_seconds"].samples[0].value > 1_600_000_000


def test_the_scrape_counts_itself_as_one_active_request(server):
    _, families = scrape(server)
    [active] = families["http_server_active_requests"].samples
    assert active.value == 1


def test_requests_are_counted_exactly_under_their_route_templates(server):
    with recorded(server) as delta:
        film = add_film(server, "Up", "Pixar", 2009, path="/films")
        own = f"/films/{film['id']}"
        call(server, *[("GET", "/films/123", 404)] * 3, *[("GET", own, 200)] * 2,
             ("POST", own + "/like", 200), ("GET", "/films?limit=5", 200), ("GET", "/", 200))
    assert delta == Counter({
        ("POST", "/films", "201"): 1,
        ("GET", "/films/{id}", "404"): 3,
        ("GET", "/films/{id}", "200"): 2,
        ("POST", "/films/{id}/like", "200"): 1,
        ("GET", "/films", "200"): 1,
        ("GET", "/", "200"): 1,
    })
    _, families = scrape(server)
    raw = [value for value in label_values(families) if "123" in value or value == own]
    assert not raw, raw


def test_concurrent_requests_are_all_counted(server):
    with recorded(server) as delta, ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda i: server.request("GET", f"/films/{i}").status, range(1, 81)))
    assert statuses == [404] * 80
    assert delta == Counter({("GET", "/films/{id}", "404"): 80})
    _, families = scrape(server)
    [active] = families["http_server_active_requests"].samples
    assert active.value == 1


def test_counts_survive_a_configuration_reload(server):
    call(server, ("GET", "/films/1", 404), ("GET", "/films/2", 404))
    server.process.send_signal(signal.SIGHUP)
    server.wait_for_log(lambda record: record.get("msg") == "configuration reloaded")
    _, families = scrape(server)
    assert request_counts(families)[("GET", "/films/{id}", "404")] == 2


def test_an_unknown_path_adds_no_raw_path_label(server):
    with recorded(server) as delta:
        call(server, ("GET", "/no/such/place-4711", 404), ("POST", "/another-unknown-path", 404))
    assert delta == Counter({("GET", "_unmatched", "404"): 1, ("POST", "_unmatched", "404"): 1})
    _, families = scrape(server)
    raw = [value for value in label_values(families) if "4711" in value or "another-unknown-path" in value]
    assert not raw, raw


def test_404_and_405_are_counted_with_their_codes(server):
    with recorded(server) as delta:
        call(server, ("DELETE", "/films", 405), ("PUT", "/healthz", 405), ("GET", "/films/999", 404))
    assert delta == Counter({
        ("DELETE", "/films", "405"): 1,
        ("PUT", "/healthz", "405"): 1,
        ("GET", "/films/{id}", "404"): 1,
    })


def test_head_is_counted_as_head(server):
    add_film(server, "Frozen", "Disney", 2013)
    with recorded(server) as delta:
        call(server, ("HEAD", "/", 200), ("HEAD", "/healthz", 200))
    assert delta == Counter({("HEAD", "/", "200"): 1, ("HEAD", "/healthz", "200"): 1})


def test_requests_the_transport_refuses_are_counted_as_refused(server):
    with recorded(server) as delta:
        assert server.raw(b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert server.request("GET", "/" + "a" * 5000).status == 414
    assert delta == Counter({("_OTHER", "_refused", "400"): 1, ("_OTHER", "_refused", "414"): 1})


def test_histograms_are_cumulative_with_inf_sum_and_count(server):
    for path in ("/healthz", "/films", "/nowhere", "/films/1"):
        server.request("GET", path)
    _, families = scrape(server)
    series: dict = {}
    for sample in families[DURATION].samples:
        labels = dict(sample.labels)
        le = labels.pop("le", None)
        entry = series.setdefault(tuple(sorted(labels.items())), {"buckets": []})
        if sample.name.endswith("_bucket"):
            entry["buckets"].append((float(le), sample.value))
        else:
            entry[sample.name.rsplit("_", 1)[1]] = sample.value
    assert len(series) >= 4
    for key, entry in series.items():
        bounds = [le for le, _ in entry["buckets"]]
        values = [value for _, value in entry["buckets"]]
        assert bounds == OTEL_BUCKETS + [float("inf")], key
        assert values == sorted(values), f"buckets not cumulative: {key} {values}"
        assert values[-1] == entry["count"] >= 1, key
        assert 0 <= entry["sum"] < 10 * entry["count"], key


def test_labels_come_from_bounded_sets(server):
    for method, path in [("GET", "/films/5"), ("GET", "/films/5/like"), ("OPTIONS", "/films"),
                         ("PATCH", "/xyz/123"), ("GET", "/films/random"), ("TRACE", "/")]:
        server.request(method, path)
    server.raw(b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
    _, families = scrape(server)
    routes = server_routes() | {"_unmatched", "_refused"}
    for method, route, status in request_counts(families):
        assert method in KNOWN_METHODS, method
        assert route in routes, route
        assert status.isdigit() and 100 <= int(status) <= 599, status


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
def test_operations_routes_are_counted_like_any_other(server, path):
    with recorded(server) as delta:
        call(server, ("GET", path, 200))
    assert delta == Counter({("GET", path, "200"): 1})
