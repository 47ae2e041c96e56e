"""bench/run --plot: an SVG chart of a run's results.json, and the chart BENCHMARKS.md shows above
its table, drawn from the same run as the table."""
from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from filmd_server import REPO

pytestmark = pytest.mark.clients  # artefact checks: the ThreadSanitizer pass leaves them out

SVG_NS = "{http://www.w3.org/2000/svg}"
WORKLOADS = ("get_root", "like_random", "add_film", "mixed")


def _plot(*args: str) -> subprocess.CompletedProcess:
    # bench/run installs matplotlib from PyPI when it is missing: allow for that.
    return subprocess.run([str(REPO / "bench" / "run"), "--plot", *args], capture_output=True, text=True, timeout=600)


def _texts(svg) -> list[str]:
    return [t.text.strip() for t in ET.parse(svg).getroot().iter(SVG_NS + "text") if t.text and t.text.strip()]


def _fake_run(folder, films=100000) -> dict:
    """A results.json as bench/run writes it: 4 workloads x 2 servers x 1 and 2 workers."""
    results = []
    for workers in (1, 2):
        for w, workload in enumerate(WORKLOADS):
            for s, server in enumerate(("reference", "filmd")):
                results.append({"workload": workload, "server": server, "films": films, "workers": workers,
                                "rps": 10000 + 1000 * w + 100 * s + 10 * workers + 1, "p50_ms": 1.0,
                                "p99_ms": 1 + w + s / 10 + workers / 100 + 0.001, "error": None})
    results.append({"workload": "mixed", "server": "filmd", "films": films, "workers": 3, "rps": 0.0,
                    "p99_ms": 0.0, "error": "exit code 1 after SIGTERM"})  # failed runs are left out
    doc = {"when": "20261201-120000", "machine": {}, "args": {"duration": 10.0, "connections": 50}, "results": results}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(doc))
    return doc


def test_plot_charts_every_measurement_of_the_run(tmp_path):
    doc = _fake_run(tmp_path / "run")
    proc = _plot("--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    svg = tmp_path / "run" / "chart.svg"
    texts = _texts(svg)
    for word in (*WORKLOADS, "reference, 1 worker", "filmd, 1 worker", "reference, 2 workers", "filmd, 2 workers"):
        assert word in texts, (word, texts)
    assert "filmd, 3 workers" not in texts
    ok = [r for r in doc["results"] if not r["error"]]
    assert sorted(t for t in texts if re.fullmatch(r"1\d{3}1", t)) == sorted(f"{r['rps']:.0f}" for r in ok)
    p99_labels = [t for t in texts if re.fullmatch(r"\d+\.\d\d", t)]
    assert sorted(p99_labels) == sorted(f"{r['p99_ms']:.2f}" for r in ok)


def test_plot_writes_where_it_is_told(tmp_path):
    _fake_run(tmp_path / "run")
    proc = _plot(str(tmp_path / "elsewhere" / "c.svg"), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert ET.parse(tmp_path / "elsewhere" / "c.svg").getroot().tag == SVG_NS + "svg"


def test_plot_without_a_run_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = _plot("--out", str(tmp_path / "empty"))
    assert proc.returncode == 1 and "nothing to plot" in proc.stderr and "Traceback" not in proc.stderr, proc


def _last_run_section() -> str:
    text = (REPO / "BENCHMARKS.md").read_text()
    return text[text.index("## The last run"):].split("\n## ", 1)[0]


def test_benchmarks_md_shows_the_chart_of_its_table_above_it():
    section = _last_run_section()
    image = re.search(r"!\[[^\]]+\]\(([^)]+\.svg)\)", section)
    assert image, "no SVG chart in BENCHMARKS.md's last run"
    table_start = section.index("```", image.end())  # the chart comes first
    table = section[table_start:section.index("```", table_start + 3)]
    rows = re.findall(r"^(\w+)\s+(\d+)\s+(\d+)\s+(reference|filmd)\s+(\d+)\s+[\d.]+\s+([\d.]+)", table, re.M)
    assert len(rows) >= 8, table
    texts = _texts(REPO / image.group(1))
    labels = [t for t in texts if re.fullmatch(r"\d+(\.\d\d)?", t)]
    # The bars' labels are the table's req/s and p99 (the films count the chart shows).
    films = max({r[1] for r in rows}, key=lambda n: sum(r[1] == n for r in rows))
    expected = [r[4] for r in rows if r[1] == films] + [r[5] for r in rows if r[1] == films]
    for value in expected:
        assert value in labels, (value, "in the table but not on the chart")
    assert {w for w in WORKLOADS if any(r[0] == w for r in rows)} <= set(texts)
