"""`bench/run --plot`: an SVG chart of a run's results.json: req/s and p99 per workload, one bar
per server and worker count, each labelled with its value (so the chart can be checked against
the table). matplotlib comes from PyPI; bench/run installs it when missing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COLOURS = {("reference", 1): "#9e9e9e", ("filmd", 1): "#1f77b4", ("reference", 2): "#616161", ("filmd", 2): "#0b3d66"}


def ensure_matplotlib(install: bool) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if not install:
            raise SystemExit("bench/run --plot needs matplotlib: pip install matplotlib (or run without --no-install)")
        print("[bench] installing matplotlib from PyPI", file=sys.stderr, flush=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "matplotlib"]
        if subprocess.run(pip).returncode != 0:  # Debian's Python refuses without this flag
            subprocess.run([*pip, "--break-system-packages"], check=True)


def last_run(out_root: Path) -> Path:
    runs = sorted(p.parent for p in out_root.glob("*/results.json"))
    if not runs:
        raise SystemExit(f"no run under {out_root}: run bench/run first")
    return runs[-1]


def plot(results_json: Path, svg: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    doc = json.loads(results_json.read_text())
    results = [r for r in doc["results"] if not r.get("error")]
    if not results:
        raise SystemExit(f"{results_json}: no successful measurement to plot")
    films = max({r["films"] for r in results}, key=lambda n: sum(r["films"] == n for r in results))
    results = [r for r in results if r["films"] == films]  # a --scaling run's main catalogue size
    workloads = list(dict.fromkeys(r["workload"] for r in results))
    series = sorted({(r["server"], r["workers"]) for r in results}, key=lambda s: (s[1], s[0] != "reference"))
    by_key = {(r["workload"], r["server"], r["workers"]): r for r in results}

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "filmd", "font.size": 9})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / len(series)
    for ax, field, title, fmt in ((axes[0], "rps", "Requests per second (higher is better)", "{:.0f}"),
                                  (axes[1], "p99_ms", "p99 latency, ms (lower is better)", "{:.2f}")):
        for i, (server, workers) in enumerate(series):
            xs, heights = [], []
            for j, workload in enumerate(workloads):
                r = by_key.get((workload, server, workers))
                if r:
                    xs.append(j - 0.4 + width * (i + 0.5))
                    heights.append(r[field])
            label = f"{server}, {workers} worker{'s' if workers > 1 else ''}"
            bars = ax.bar(xs, heights, width, label=label, color=COLOURS.get((server, workers)))
            ax.bar_label(bars, labels=[fmt.format(h) for h in heights], fontsize=6, rotation=90, padding=2)
        ax.set_xticks(range(len(workloads)), workloads)
        ax.set_title(title)
        ax.margins(y=0.18)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(series), frameon=False)
    fig.suptitle(f"filmd vs the C reference: {films} films, wrk -c{doc['args'].get('connections', 50)}, "
                 f"{doc['args'].get('duration', 10):g} s per run ({doc['when']})")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    svg.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(fig)
    return svg
