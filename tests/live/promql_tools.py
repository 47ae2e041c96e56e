"""Helpers for the Prometheus artefacts' tests: promtool, a real Prometheus started on a free
loopback port, and the metric names a PromQL expression reads."""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from filmd_server import REPO

RULES_DIR = REPO / "deploy" / "prometheus"
RULES = RULES_DIR / "filmd.rules.yml"
RULES_TESTS = RULES_DIR / "filmd.rules.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "filmd-dashboard.json"

# Words of PromQL that look like metric names: functions, aggregations, keywords.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "group",
    "count_values", "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
    "unless", "bool", "offset", "rate", "irate", "increase", "delta", "idelta", "deriv",
    "histogram_quantile", "clamp_min", "clamp_max", "clamp", "abs", "absent", "absent_over_time",
    "changes", "resets", "time", "timestamp", "vector", "scalar", "label_replace", "label_join",
    "sort", "sort_desc", "round", "ceil", "floor", "sgn", "max_over_time", "min_over_time",
    "avg_over_time", "sum_over_time", "count_over_time", "last_over_time", "inf", "nan",
}
# The series Prometheus itself makes: per target, and for alerts.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS"}
# Grafana's variables as the dashboard's queries use them, with values PromQL parses.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "${datasource}": "", "$job": "filmd"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: `make test-deps` installs Debian's prometheus package")
    return path


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([tool("promtool"), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def load_rules(path: Path = RULES) -> list[dict]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: strings, label matchers, grouping clauses,
    durations and PromQL's own words removed, what is left are names."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    words = re.findall(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", text)
    return {w for w in words if w.lower() not in PROMQL_WORDS}


def exported_names(metrics_text: str) -> set[str]:
    """Every sample name of a /metrics exposition (histograms' _bucket/_sum/_count included)."""
    names = set()
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names |= {name + "_bucket", name + "_sum", name + "_count"}
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def dashboard_queries(dashboard: dict) -> dict[str, str]:
    """Every PromQL expression of a Grafana dashboard (panels, annotations, the metric that
    label_values variables read), keyed by where it is, with Grafana's variables replaced."""
    found = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    for annotation in dashboard["annotations"]["list"]:
        found[f"annotation {annotation['name']!r}"] = annotation["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found[f"variable {variable['name']}"] = re.fullmatch(r"label_values\((.+), *\w+\)", variable["definition"]).group(1)
    return {where: substitute(expr) for where, expr in found.items()}


def substitute(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
    return expr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Prometheus:
    """Debian's prometheus on a free loopback port with a temporary data folder, scraping
    `target` every second and evaluating `rule_files` every second. Stopped by its PID."""

    def __init__(self, workdir: Path, target: str, rule_files: list[Path]):
        self.workdir = workdir
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [{"job_name": "filmd", "static_configs": [{"targets": [target]}]}],
        }
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.log = workdir / "prometheus.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "Prometheus":
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [tool("prometheus"), f"--config.file={self.config}", f"--storage.tsdb.path={self.workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready in {timeout}s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def wait_for(self, expr: str, ok=bool, timeout: float = 45.0) -> list[dict]:
        """The first answer to `expr` that `ok` accepts (by default: a non-empty one), else the last."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if ok(result) or time.monotonic() > deadline:
                return result
            time.sleep(0.5)
