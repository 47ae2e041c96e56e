"""deploy/grafana/filmd-dashboard.json: every query parses (promtool check rules on a rule file
made of the dashboard's expressions), reads only what filmd exports or the rules record, and the
dashboard shows every recording rule. tests/live/test_prometheus_rules.py also runs each query
against a real Prometheus scraping filmd."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from filmd_server import REPO
from promql_tools import DASHBOARD, SCRAPE_SERIES, dashboard_queries, exported_names, load_rules, metric_names, promtool

pytestmark = pytest.mark.clients  # artefact checks: the ThreadSanitizer pass leaves them out

DOC = json.loads(DASHBOARD.read_text())
QUERIES = dashboard_queries(DOC)


def parse_errors(tmp_path, queries: dict[str, str]) -> str | None:
    """promtool's complaint about any of `queries`, as recording rules of one group; None if all parse."""
    rules = [{"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(queries.values())]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    proc = promtool("check", "rules", str(path))
    return None if proc.returncode == 0 else proc.stdout + proc.stderr


def test_every_query_parses(tmp_path):
    assert len(QUERIES) >= 15
    assert parse_errors(tmp_path, QUERIES) is None


def test_the_parse_check_catches_a_broken_query(tmp_path):
    broken = dict(QUERIES)
    broken["x"] = "sum by (job) (rate(filmd_db_errors_total[5m])"
    assert "dashboard:query_" in (parse_errors(tmp_path, broken) or "")


def test_queries_name_only_what_filmd_exports(server):
    exported = exported_names(server.request("GET", "/metrics").body.decode())
    recorded = {r["record"] for r in load_rules() if "record" in r}
    for where, expr in QUERIES.items():
        names = metric_names(expr)
        assert names, where
        assert names <= exported | recorded | SCRAPE_SERIES, (where, names - exported - recorded)


def test_dashboard_shows_every_recording_rule_and_filmd_family():
    used = set().union(*(metric_names(e) for e in QUERIES.values()))
    assert {r["record"] for r in load_rules() if "record" in r} <= used
    families = {"http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket",
                "http_server_active_requests", "filmd_ratelimit_decisions_total", "filmd_ratelimit_tracked_clients",
                "filmd_build_info", "process_resident_memory_bytes", "up"}
    assert families <= used, families - used


def test_dashboard_is_importable():
    assert DOC["uid"] and DOC["title"] and isinstance(DOC["schemaVersion"], int)
    ids = [p["id"] for p in DOC["panels"]]
    assert len(ids) == len(set(ids))
    for panel in DOC["panels"]:
        assert panel["type"] in {"row", "timeseries", "stat"}, panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"] and panel["description"]
    names = {v["name"] for v in DOC["templating"]["list"]}
    assert names == {"datasource", "job"}


def test_readme_operations_links_the_rules_and_the_dashboard():
    readme = (REPO / "README.md").read_text()
    operations = readme[readme.index("## Operations"):].split("\n## ", 1)[0]
    links = set(re.findall(r"\]\((deploy/[^)]+)\)", operations))
    assert {"deploy/prometheus/filmd.rules.yml", "deploy/grafana/filmd-dashboard.json"} <= links
    assert all((REPO / link).is_file() for link in links), links
