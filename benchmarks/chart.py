#!/usr/bin/env python3
"""Draws benchmarks/results/chart.svg from a BenchmarkDotNet export of the Cachify suite.

One panel per scenario family, one row of bars per scenario, one bar per library: its **median time divided by the
floor's median time** in the same run (ConcurrentDictionary for memory, raw StackExchange.Redis for Redis), on a
logarithmic axis; the dashed line is the floor (1×). Bars to the right are slower than the floor. A last panel shows
retained memory per entry divided by the floor's. Standard library only. Usage::

    python3 benchmarks/chart.py [RESULTS_DIR] [--out PATH]

RESULTS_DIR defaults to benchmarks/results (which holds data/ with the CSV and JSON files); the chart goes to
RESULTS_DIR/chart.svg unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402  (same folder)

COLORS = {
    "Cachify": "#d1495b",
    "MemoryCacheTryGetValue": "#00798c",
    "MemoryCacheGetOrCreate": "#30a0b0",
    "MemoryCacheGetOrCreateAsync": "#30a0b0",
    "MemoryCacheSet": "#30a0b0",
    "FusionCache": "#edae49",
    "FusionCacheSet": "#edae49",
    "HybridCache": "#66a182",
    "Naive": "#8d96a3",
}
LEGEND = [
    ("Cachify", "Cachify"),
    ("MemoryCacheTryGetValue", "IMemoryCache.TryGetValue"),
    ("MemoryCacheGetOrCreate", "IMemoryCache.GetOrCreate(Async) / Set"),
    ("FusionCache", "FusionCache (on Redis: Redis as L2, memory skipped)"),
    ("HybridCache", "HybridCache"),
    ("Naive", "naive memoizer (string.Join key + Lazy)"),
]

SHORT_NAMES = {
    "Cachify": "Cachify",
    "MemoryCacheTryGetValue": "TryGetValue",
    "MemoryCacheGetOrCreate": "GetOrCreate",
    "MemoryCacheGetOrCreateAsync": "GetOrCreateAsync",
    "MemoryCacheSet": "IMemoryCache.Set",
    "FusionCache": "FusionCache",
    "FusionCacheSet": "FusionCache.Set",
    "HybridCache": "HybridCache",
    "Naive": "naive",
}

WIDTH = 1100
LABEL_WIDTH = 250
PLOT_LEFT = LABEL_WIDTH + 10
PLOT_RIGHT = WIDTH - 70
BAR = 11
BAR_GAP = 2
GROUP_GAP = 10
PANEL_GAP = 26
FONT = "font-family=\"Helvetica, Arial, sans-serif\""


def collect(run: report.Run) -> list[tuple[str, list[tuple[str, list[tuple[str, float, str]]]]]]:
    """Panels: (title, [(row label, [(library, ratio, value text)])])."""
    panels = []
    for type_, title in report.FAMILIES:
        rows = []
        for group, members in run.groups(type_):
            floor = next((r for r in members if r.library in report.FLOORS), None)
            if floor is None or floor.median_ns <= 0:
                continue
            bars = [(r.library, r.median_ns / floor.median_ns, "")
                    for r in members if r.library not in report.FLOORS and r.library not in report.HELPERS]
            if bars:
                rows.append((report.group_title(type_, group), bars))
        if rows:
            panels.append((title, rows))
    # Retained memory per entry, from the CSV column of ManyKeysBenchmarks.
    retained = {r.library: report.parse_bytes(r.custom.get("Retained/entry")) for r in run.rows if r.type == "ManyKeysBenchmarks"}
    floor = retained.get("Dictionary")
    if floor:
        bars = [(k, v / floor, f"{v:,.0f} B") for k, v in retained.items() if v is not None and k not in report.FLOORS]
        bars.sort(key=lambda b: report.LIBRARY_ORDER.get(b[0], 99))
        panels.append(("Retained memory per entry, 1,000,000 int keys (bytes ÷ ConcurrentDictionary's)", [("bytes per entry", bars)]))
    return panels


def draw(run: report.Run) -> str:
    panels = collect(run)
    ratios = [ratio for _, rows in panels for _, bars in rows for _, ratio, _ in bars]
    low = min(0.5, min(ratios) / 1.3)
    high = max(ratios) * 1.6
    lo, hi = math.log10(low), math.log10(high)

    def x(value: float) -> float:
        return PLOT_LEFT + (math.log10(value) - lo) / (hi - lo) * (PLOT_RIGHT - PLOT_LEFT)

    parts: list[str] = []
    y = 20.0
    label = run.info.get("label", "")
    title = "Cachify vs the usual ways to cache in .NET: time ÷ floor (log scale; lower is better)"
    parts.append(f'<text x="{WIDTH / 2}" y="{y}" text-anchor="middle" font-size="16" font-weight="bold" {FONT}>{escape(title)}</text>')
    y += 18
    subtitle = "Medians of one BenchmarkDotNet run; floor = ConcurrentDictionary (memory) or raw StackExchange.Redis GET + deserialize (Redis)."
    parts.append(f'<text x="{WIDTH / 2}" y="{y}" text-anchor="middle" font-size="11" fill="#444" {FONT}>{escape(subtitle)}</text>')
    if label:
        y += 16
        parts.append(f'<text x="{WIDTH / 2}" y="{y}" text-anchor="middle" font-size="11" fill="#b00" {FONT}>{escape(label)}</text>')
    y += 20
    # Legend.
    lx = PLOT_LEFT - 150
    for key, text in LEGEND:
        parts.append(f'<rect x="{lx}" y="{y - 9}" width="12" height="10" fill="{COLORS[key]}"/>')
        parts.append(f'<text x="{lx + 16}" y="{y}" font-size="11" {FONT}>{escape(text)}</text>')
        lx += 24 + 6.1 * len(text)
        if lx > WIDTH - 200:
            lx = PLOT_LEFT - 150
            y += 16
    y += 24

    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000) if low <= t <= high]
    for panel_title, rows in panels:
        parts.append(f'<text x="10" y="{y}" font-size="13" font-weight="bold" {FONT}>{escape(panel_title)}</text>')
        y += 8
        top = y
        for row_label, bars in rows:
            height = len(bars) * (BAR + BAR_GAP) - BAR_GAP
            parts.append(f'<text x="{LABEL_WIDTH}" y="{y + height / 2 + 4}" text-anchor="end" font-size="11" {FONT}>{escape(row_label)}</text>')
            for library, ratio, text in bars:
                x0, x1 = x(1), x(ratio)
                left, width = min(x0, x1), max(abs(x1 - x0), 1)
                color = COLORS.get(library, "#999")
                name = report.LIBRARY_NAMES.get(library, library)
                parts.append(f'<rect x="{left:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR}" fill="{color}"><title>{escape(f"{name}: {ratio:.2f}× the floor {text}")}</title></rect>')
                value = f"{report.fmt_ratio(ratio)} {SHORT_NAMES.get(library, name)}" + (f" ({text})" if text else "")
                weight = ' font-weight="bold"' if library == "Cachify" else ""
                parts.append(f'<text x="{max(x0, x1) + 3:.1f}" y="{y + BAR - 2:.1f}" font-size="9"{weight} {FONT}>{escape(value)}</text>')
                y += BAR + BAR_GAP
            y += GROUP_GAP
        bottom = y - GROUP_GAP + 4
        # Axis: ticks and the floor line.
        for t in ticks:
            tx = x(t)
            parts.append(f'<line x1="{tx:.1f}" y1="{top - 2}" x2="{tx:.1f}" y2="{bottom}" stroke="#ddd" stroke-width="1"/>')
            parts.append(f'<text x="{tx:.1f}" y="{bottom + 11}" text-anchor="middle" font-size="9" fill="#666" {FONT}>{t:g}×</text>')
        parts.append(f'<line x1="{x(1):.1f}" y1="{top - 2}" x2="{x(1):.1f}" y2="{bottom}" stroke="#333" stroke-width="1" stroke-dasharray="3,2"/>')
        y = bottom + 11 + PANEL_GAP

    height = int(y)
    # Grid lines were appended after the bars; draw them first so bars sit on top.
    grid = [p for p in parts if p.startswith("<line")]
    rest = [p for p in parts if not p.startswith("<line")]
    body = "\n".join(grid + rest)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default=os.path.join(report.HERE, "results"))
    parser.add_argument("--out")
    args = parser.parse_args()
    run = report.load(args.results)
    out = args.out or os.path.join(args.results, "chart.svg")
    with open(out, "w", encoding="utf-8") as f:
        f.write(draw(run))
    print(f"chart.py: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
