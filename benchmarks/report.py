#!/usr/bin/env python3
"""Turns a BenchmarkDotNet export of the Cachify suite into the results section of benchmarks/README.md.

Reads every ``*-report-brief.json`` (statistics in ns, allocations) and ``*-report.csv`` (the custom columns:
Executions, Retained/entry) in a results folder, checks each performance target and writes:

* ``<results>/summary.md``: run information, the targets (met or not, with the numbers), and the ratio tables;
* the same text between ``<!-- results:begin -->`` and ``<!-- results:end -->`` in ``benchmarks/README.md``.

Every ratio is computed from **medians** of the same run (more robust than means on a busy machine).
Standard library only. Usage::

    python3 benchmarks/report.py [RESULTS_DIR] [--readme PATH] [--no-readme]

RESULTS_DIR defaults to benchmarks/results (which holds data/ with the CSV and JSON files).
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import re
import sys
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"

# Display names of the implementations, in the order they are shown (floor first, Cachify second).
LIBRARIES = [
    ("Dictionary", "ConcurrentDictionary (floor)"),
    ("LazyDictionary", "ConcurrentDictionary of Lazy (floor)"),
    ("Raw", "raw StackExchange.Redis (floor)"),
    ("Cachify", "Cachify"),
    ("MemoryCacheTryGetValue", "IMemoryCache.TryGetValue"),
    ("MemoryCacheGetOrCreate", "IMemoryCache.GetOrCreate"),
    ("MemoryCacheGetOrCreateAsync", "IMemoryCache.GetOrCreateAsync"),
    ("MemoryCacheSet", "IMemoryCache.Set"),
    ("FusionCache", "FusionCache"),
    ("FusionCacheSet", "FusionCache.Set"),
    ("HybridCache", "HybridCache"),
    ("Naive", "naive memoizer"),
    ("FunctionAlone", "the 1 ms function alone"),
    ("CachifyAllHits", "Cachify, 1,000 callers all hitting"),
]
LIBRARY_NAMES = dict(LIBRARIES)
LIBRARY_ORDER = {key: i for i, (key, _) in enumerate(LIBRARIES)}
FLOORS = {"Dictionary", "LazyDictionary", "Raw"}
# Rows that are parts of a target, not competitors.
HELPERS = {"FunctionAlone", "CachifyAllHits"}

# Scenario families, in display order: (benchmark class, title).
FAMILIES = [
    ("HitSyncBenchmarks", "Memory hit, sync"),
    ("HitAsyncBenchmarks", "Memory hit, async"),
    ("MissBenchmarks", "Miss and overwrite (skip-cache)"),
    ("StampedeBenchmarks", "Stampede: 1,000 callers, cold key, 1 ms function (wall time)"),
    ("ManyKeysBenchmarks", "Many keys: filling 1,000,000 keys"),
    ("ContentionBenchmarks", "Contention: time per hit per thread"),
    ("RedisHitBenchmarks", "Redis hit latency, one caller"),
    ("RedisThroughputBenchmarks", "Redis hits, 64 concurrent callers (time per hit)"),
]
CATEGORY_TITLES = {
    "NoArgs": "no arguments",
    "Int": "one int",
    "ThreeArgs": "int, string, Guid",
    "Record": "one record",
    "MissSync": "miss, sync",
    "MissAsync": "miss, async",
    "OverwriteSync": "overwrite, sync",
    "OverwriteAsync": "overwrite, async",
    "Async": "async (1,000 tasks)",
    "Sync": "sync (1,000 threads)",
    "SyncInt": "sync, int argument",
    "AsyncInt": "async, int argument",
    "SyncRecord": "sync, record argument",
    "AsyncRecord": "async, record argument",
}


@dataclass
class Row:
    type: str
    method: str
    params: str
    median_ns: float
    mean_ns: float
    stddev_ns: float
    allocated: float | None
    custom: dict = field(default_factory=dict)

    @property
    def category(self) -> str:
        return self.method.split("_", 1)[0] if "_" in self.method else ""

    @property
    def library(self) -> str:
        return self.method.split("_", 1)[1] if "_" in self.method else self.method

    @property
    def group(self) -> str:
        """The rows compared with one another: a category, or a parameter set."""
        return self.category or self.params


@dataclass
class Run:
    rows: list[Row]
    host: dict
    info: dict

    def find(self, type_: str, method: str, params: str = "") -> Row | None:
        for row in self.rows:
            if row.type == type_ and row.method == method and (row.params == params or not params):
                return row
        return None

    def groups(self, type_: str) -> list[tuple[str, list[Row]]]:
        result: dict[str, list[Row]] = {}
        for row in self.rows:
            if row.type == type_:
                result.setdefault(row.group, []).append(row)
        for rows in result.values():
            rows.sort(key=lambda r: LIBRARY_ORDER.get(r.library, 99))
        order = list(CATEGORY_TITLES)
        return sorted(result.items(), key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0]))


# ---------------------------------------------------------------------------------------------------- loading


def load(results: str) -> Run:
    data = os.path.join(results, "data")
    folder = data if os.path.isdir(data) else results
    rows: list[Row] = []
    host: dict = {}
    for path in sorted(glob.glob(os.path.join(folder, "*-report-brief.json"))):
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        host = report.get("HostEnvironmentInfo", host)
        custom = load_csv(path.replace("-report-brief.json", "-report.csv"))
        for b in report["Benchmarks"]:
            stats = b.get("Statistics")
            if not stats:
                continue  # failed benchmark
            memory = b.get("Memory") or {}
            params = b.get("Parameters") or ""
            rows.append(Row(
                type=b["Type"],
                method=b["Method"],
                params=params,
                median_ns=stats["Median"],
                mean_ns=stats["Mean"],
                stddev_ns=stats.get("StandardDeviation", 0.0),
                allocated=memory.get("BytesAllocatedPerOperation"),
                custom=custom.get((b["Method"], params), {}),
            ))
    if not rows:
        sys.exit(f"report.py: no *-report-brief.json in {folder}; run the suite first (benchmarks/run-all.sh)")
    info = {}
    info_path = os.path.join(results, "run-info.txt")
    if os.path.exists(info_path):
        with open(info_path, encoding="utf-8") as f:
            for line in f:
                if ":" in line:
                    key, value = line.split(":", 1)
                    info[key.strip()] = value.strip()
    return Run(rows, host, info)


def load_csv(path: str) -> dict:
    """Custom columns per (method, parameters) from BenchmarkDotNet's CSV export."""
    result: dict = {}
    if not os.path.exists(path):
        return result
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        # Parameter columns sit between 'WarmupCount'/'Categories' and 'Mean'; take those named like Params (capitalised, short).
        known = {"Executions", "Retained/entry"}
        for record in reader:
            params = []
            start = columns.index("Mean") if "Mean" in columns else len(columns)
            after_job = columns.index("WarmupCount") + 1 if "WarmupCount" in columns else 0
            for name in columns[after_job:start]:
                if name != "Categories":
                    params.append(f"{name}={record[name]}")
            key = (record["Method"], "&".join(params))
            result[key] = {name: record[name] for name in known if name in record}
    return result


def parse_bytes(text: str | None) -> float | None:
    if not text or text in ("-", "NA"):
        return None
    match = re.match(r"([\d,.]+)\s*(B|KB|MB)?", text)
    if not match:
        return None
    value = float(match.group(1).replace(",", ""))
    return value * {"B": 1, "KB": 1024, "MB": 1024 * 1024, None: 1}[match.group(2)]


def parse_executions(text: str | None) -> tuple[float, float, float] | None:
    """'1' -> (1, 1, 1); '986 (min 2, max 1,000)' -> (986, 2, 1000)."""
    if not text or text in ("-", "NA"):
        return None
    numbers = [float(n.replace(",", "")) for n in re.findall(r"[\d][\d,.]*", text)]
    if len(numbers) == 1:
        return numbers[0], numbers[0], numbers[0]
    return numbers[0], numbers[1], numbers[2]


# ---------------------------------------------------------------------------------------------------- formatting


def fmt_time(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:,.2f} µs"
    return f"{ns:,.2f} ns"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "?"
    return "0 B" if value == 0 else f"{value:,.0f} B"


def fmt_ratio(value: float) -> str:
    return f"{value:,.2f}×" if value < 100 else f"{value:,.0f}×"


def group_title(type_: str, group: str) -> str:
    if group in CATEGORY_TITLES:
        return CATEGORY_TITLES[group]
    if "=" in group:
        return ", ".join(p.split("=", 1)[1] + (" thread" + ("s" if p.split("=", 1)[1] != "1" else "") if p.startswith("Threads=") else "")
                         for p in group.split("&"))
    return group or {"RedisThroughputBenchmarks": "64 async callers", "ManyKeysBenchmarks": "1,000,000 inserts"}.get(type_, "all")


# ---------------------------------------------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    measured: str
    goal: str
    met: bool | None  # None: could not be computed


def targets(run: Run) -> list[Target]:
    result: list[Target] = []

    def ratio(type_: str, a: str, b: str, params: str = "") -> float | None:
        ra, rb = run.find(type_, a, params), run.find(type_, b, params)
        return ra.median_ns / rb.median_ns if ra and rb else None

    # 1-3: memory hits against the floor and every peer.
    for type_, mode in (("HitSyncBenchmarks", "sync"), ("HitAsyncBenchmarks", "async")):
        for group, rows in run.groups(type_):
            cachify = next((r for r in rows if r.library == "Cachify"), None)
            floor = next((r for r in rows if r.library in FLOORS), None)
            if not cachify or not floor:
                continue
            label = f"Memory hit, {mode}, {CATEGORY_TITLES.get(group, group)}"
            x = cachify.median_ns / floor.median_ns
            result.append(Target(f"{label}: Cachify / ConcurrentDictionary floor", fmt_ratio(x), "≤ 3×", x <= 3))
            peers = [r for r in rows if r.library not in FLOORS and r.library != "Cachify"]
            if peers:
                fastest = min(peers, key=lambda r: r.median_ns)
                y = fastest.median_ns / cachify.median_ns
                result.append(Target(
                    f"{label}: fastest other peer ({LIBRARY_NAMES.get(fastest.library, fastest.library)}) / Cachify",
                    f"{y:,.2f}× ({fmt_time(fastest.median_ns)} vs {fmt_time(cachify.median_ns)})", "> 1× (faster than every peer)", y > 1))
            fusion = next((r for r in rows if r.library == "FusionCache"), None)
            if fusion:
                z = fusion.median_ns / cachify.median_ns
                result.append(Target(f"{label}: FusionCache / Cachify", fmt_ratio(z), "≥ 3×", z >= 3))
            # Allocation per hit: 0 B for no arguments and for every async hit; ≤ 48 B (moonshot 0 B) for arities 1-3.
            allocated = cachify.allocated
            strict = mode == "async" or group == "NoArgs"
            goal = "0 B" if strict else "≤ 48 B (moonshot 0 B)"
            ok = None if allocated is None else (allocated == 0 if strict else allocated <= 48)
            result.append(Target(f"{label}: Cachify allocation per hit", fmt_bytes(allocated), goal, ok))

    # Miss.
    for method, peer, label in (("MissSync_Cachify", "MissSync_MemoryCacheGetOrCreate", "sync, vs IMemoryCache.GetOrCreate"),
                                ("MissAsync_Cachify", "MissAsync_MemoryCacheGetOrCreateAsync", "async, vs IMemoryCache.GetOrCreateAsync")):
        x = ratio("MissBenchmarks", method, peer)
        if x is not None:
            result.append(Target(f"Miss, {label} (remove + miss + store, trivial function)", fmt_ratio(x), "≤ 1.5×", x <= 1.5))

    # Stampede.
    for mode, title in (("Async", "async, 1,000 tasks"), ("Sync", "sync, 1,000 threads")):
        cachify = run.find("StampedeBenchmarks", f"{mode}_Cachify")
        alone = run.find("StampedeBenchmarks", f"{mode}_FunctionAlone")
        hits = run.find("StampedeBenchmarks", f"{mode}_CachifyAllHits")
        if cachify:
            executions = parse_executions(cachify.custom.get("Executions"))
            result.append(Target(
                f"Stampede, {title}: executions per round",
                "?" if executions is None else (f"{executions[0]:g}" if executions[1] == executions[2] else f"{executions[0]:g} (min {executions[1]:g}, max {executions[2]:g})"),
                "exactly 1", None if executions is None else executions[1] == executions[2] == 1))
        if cachify and alone and hits:
            budget = 1.5 * (alone.median_ns + hits.median_ns * 999 / 1000)
            x = cachify.median_ns / budget
            result.append(Target(
                f"Stampede, {title}: wall time / (1.5 × (function alone + hit cost of 999 callers))",
                f"{fmt_ratio(x)} ({fmt_time(cachify.median_ns)} vs 1.5 × ({fmt_time(alone.median_ns)} + 999/1000 × {fmt_time(hits.median_ns)}) = {fmt_time(budget)})",
                "≤ 1×", x <= 1))

    # Retained memory.
    cachify = run.find("ManyKeysBenchmarks", "Cachify")
    memory = run.find("ManyKeysBenchmarks", "MemoryCacheSet")
    if cachify and memory:
        a, b = parse_bytes(cachify.custom.get("Retained/entry")), parse_bytes(memory.custom.get("Retained/entry"))
        if a is not None and b:
            result.append(Target("Retained memory per entry (1,000,000 int keys): Cachify / IMemoryCache",
                                 f"{fmt_ratio(a / b)} ({a:,.0f} B vs {b:,.0f} B)", "≤ 1.5×", a / b <= 1.5))

    # Redis latency.
    for group, floor_api in (("AsyncInt", "StringGetAsync"), ("AsyncRecord", "StringGetAsync"), ("SyncInt", "StringGet"), ("SyncRecord", "StringGet")):
        x = ratio("RedisHitBenchmarks", f"{group}_Cachify", f"{group}_Raw")
        if x is not None:
            result.append(Target(f"Redis hit, {CATEGORY_TITLES[group]}: Cachify / raw {floor_api}", fmt_ratio(x), "≤ 1.15×", x <= 1.15))

    # Redis throughput.
    x = ratio("RedisThroughputBenchmarks", "Raw", "Cachify")
    if x is not None:
        result.append(Target("Redis, 64 concurrent callers: Cachify throughput / raw throughput", f"{x * 100:,.0f} %", "≥ 90 %", x >= 0.9))

    # Contention scaling.
    for keys in ("DifferentKeys", "SameKey"):
        one = run.find("ContentionBenchmarks", "Cachify", f"Threads=1&Keys={keys}")
        two = run.find("ContentionBenchmarks", "Cachify", f"Threads=2&Keys={keys}")
        floor_one = run.find("ContentionBenchmarks", "Dictionary", f"Threads=1&Keys={keys}")
        floor_two = run.find("ContentionBenchmarks", "Dictionary", f"Threads=2&Keys={keys}")
        if one and two:
            scaling = 2 * one.median_ns / two.median_ns
            # The floor's own scaling shows whether the machine had a second core free at all.
            measured = fmt_ratio(scaling) + (f" (floor: {fmt_ratio(2 * floor_one.median_ns / floor_two.median_ns)})" if floor_one and floor_two else "")
            if keys == "DifferentKeys":
                result.append(Target("Contention, 2 threads on different keys: Cachify throughput / 1 thread", measured, "≥ 1.7×", scaling >= 1.7))
            else:
                result.append(Target("Contention, 2 threads on the same key: Cachify throughput / 1 thread (reported, no target)", measured, "-", None))
    return result


# ---------------------------------------------------------------------------------------------------- tables


def ratio_tables(run: Run) -> list[str]:
    lines: list[str] = []
    for type_, title in FAMILIES:
        groups = run.groups(type_)
        if not groups:
            continue
        libraries = sorted({r.library for _, rows in groups for r in rows}, key=lambda k: LIBRARY_ORDER.get(k, 99))
        lines.append(f"#### {title}")
        lines.append("")
        extra = type_ == "ManyKeysBenchmarks"
        header = ["Scenario", "Floor (median)"] + [LIBRARY_NAMES.get(k, k) for k in libraries if k not in FLOORS] + ["Fastest other peer ÷ Cachify (> 1: Cachify faster)"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for group, rows in groups:
            by_library = {r.library: r for r in rows}
            floor = next((r for r in rows if r.library in FLOORS), None)
            cells = [group_title(type_, group), f"{fmt_time(floor.median_ns)}, {fmt_bytes(floor.allocated)}" if floor else "-"]
            for k in libraries:
                if k in FLOORS:
                    continue
                r = by_library.get(k)
                if r is None:
                    cells.append("-")
                elif floor:
                    cells.append(f"{fmt_ratio(r.median_ns / floor.median_ns)}, {fmt_bytes(r.allocated)}")
                else:
                    cells.append(f"{fmt_time(r.median_ns)}, {fmt_bytes(r.allocated)}")
            cachify = by_library.get("Cachify")
            peers = [r for r in rows if r.library not in FLOORS and r.library not in HELPERS and r.library != "Cachify"]
            if cachify and peers:
                fastest = min(peers, key=lambda r: r.median_ns)
                cells.append(f"{fastest.median_ns / cachify.median_ns:,.2f}× ({LIBRARY_NAMES.get(fastest.library, fastest.library)})")
            else:
                cells.append("-")
            lines.append("| " + " | ".join(cells) + " |")
        peers = [k for k in libraries if k not in FLOORS and k not in HELPERS and k != "Cachify"]
        if peers and any("Cachify" in {r.library for r in rows} for _, rows in groups):
            lines.append("")
            lines.append("Each peer's time ÷ Cachify's time (> 1: Cachify is that many times faster):")
            lines.append("")
            lines.append("| Scenario | " + " | ".join(LIBRARY_NAMES.get(k, k) for k in peers) + " |")
            lines.append("|" + "|".join(["---"] + ["---:"] * len(peers)) + "|")
            for group, rows in groups:
                by_library = {r.library: r for r in rows}
                cachify = by_library.get("Cachify")
                if cachify is None:
                    continue
                cells = [group_title(type_, group)]
                for k in peers:
                    r = by_library.get(k)
                    cells.append(fmt_ratio(r.median_ns / cachify.median_ns) if r else "-")
                lines.append("| " + " | ".join(cells) + " |")
        if extra:
            lines.append("")
            lines.append("Retained managed memory per entry (1,000,000 int keys; ratio to the floor, and to IMemoryCache):")
            lines.append("")
            lines.append("| Store | Retained / entry | Ratio to floor | Ratio to IMemoryCache |")
            lines.append("|---|---:|---:|---:|")
            retained = {r.library: parse_bytes(r.custom.get("Retained/entry")) for _, rows in groups for r in rows}
            floor_bytes, memory_bytes = retained.get("Dictionary"), retained.get("MemoryCacheSet")
            for k in libraries:
                value = retained.get(k)
                if value is None:
                    continue
                lines.append(f"| {LIBRARY_NAMES.get(k, k)} | {value:,.0f} B | "
                             f"{fmt_ratio(value / floor_bytes) if floor_bytes else '-'} | {fmt_ratio(value / memory_bytes) if memory_bytes else '-'} |")
        if type_ == "StampedeBenchmarks":
            lines.append("")
            lines.append("Executions per round: " + "; ".join(
                f"{group_title(type_, g)}: " + ", ".join(f"{LIBRARY_NAMES.get(r.library, r.library)} {r.custom.get('Executions', '?')}" for r in rows if r.library not in HELPERS)
                for g, rows in groups) + ".")
        lines.append("")
    return lines


def render(run: Run) -> str:
    host = run.host
    info = run.info
    out: list[str] = []
    label = info.get("label", "")
    if label:
        out.append(f"**{label}**")
        out.append("")
    machine = f"{host.get('ProcessorName', '?')}, {host.get('PhysicalCoreCount', '?')} physical / {host.get('LogicalCoreCount', '?')} logical cores, {host.get('OsVersion', '?')}, {host.get('RuntimeVersion', '?')}, BenchmarkDotNet {host.get('BenchmarkDotNetVersion', '?')}"
    out.append(f"- Machine: {machine}")
    for key, title in (("date", "Run"), ("commit", "Commit"), ("job", "Job"), ("load", "Load average (before → after)"), ("wall", "Wall time of the suite"), ("redis", "Redis"), ("redis rows", "Redis rows")):
        if key in info:
            out.append(f"- {title}: {info[key]}")
    out.append("- Ratios are computed from the **medians** of the run; `Floor (median)` cells give the floor's time and allocation per call, "
               "the other cells `time / floor, allocation per call`.")
    out.append("")
    results = targets(run)
    met = sum(1 for t in results if t.met is True)
    missed = sum(1 for t in results if t.met is False)
    out.append(f"### Targets ({met} met, {missed} not met)")
    out.append("")
    out.append("| Target | Measured | Goal | Met |")
    out.append("|---|---:|---:|:---:|")
    for t in results:
        out.append(f"| {t.name} | {t.measured} | {t.goal} | {'yes' if t.met else ('**no**' if t.met is False else '-')} |")
    out.append("")
    out.append("### Ratios to the floor, per scenario and library")
    out.append("")
    out.append("![Ratio to the floor per scenario and library](results/chart.svg)")
    out.append("")
    out.extend(ratio_tables(run))
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default=os.path.join(HERE, "results"))
    parser.add_argument("--readme", default=os.path.join(HERE, "README.md"))
    parser.add_argument("--no-readme", action="store_true", help="only write <results>/summary.md")
    args = parser.parse_args()
    run = load(args.results)
    text = render(run)
    with open(os.path.join(args.results, "summary.md"), "w", encoding="utf-8") as f:
        f.write("# Benchmark results\n\n" + text.replace("](results/chart.svg)", "](chart.svg)"))
    if not args.no_readme:
        with open(args.readme, encoding="utf-8") as f:
            readme = f.read()
        if BEGIN not in readme or END not in readme:
            sys.exit(f"report.py: {args.readme} has no {BEGIN} ... {END} section")
        head, rest = readme.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(args.readme, "w", encoding="utf-8") as f:
            f.write(head + BEGIN + "\n" + text + END + tail)
    print(f"report.py: {len(run.rows)} benchmarks; summary in {os.path.join(args.results, 'summary.md')}" + ("" if args.no_readme else f" and {args.readme}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
