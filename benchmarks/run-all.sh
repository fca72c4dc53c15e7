#!/usr/bin/env bash
# Runs the whole Cachify benchmark suite and regenerates everything that is committed from it:
#   benchmarks/results/<Class>.md      BenchmarkDotNet's GitHub markdown, one file per scenario class
#   benchmarks/results/data/           its CSV and JSON exports (the input of report.py and chart.py)
#   benchmarks/results/run-info.txt    date, commit, job, machine load, wall time, label
#   benchmarks/results/summary.md      targets and ratio tables (report.py)
#   benchmarks/README.md               the same, between <!-- results:begin --> and <!-- results:end --> (report.py)
#   benchmarks/results/chart.svg       ratio to the floor per scenario and library (chart.py)
#
# Usage: benchmarks/run-all.sh [--label TEXT] [BenchmarkDotNet arguments...]
#   With no BenchmarkDotNet arguments it runs --filter '*' --job short (about 10 minutes on 2 cores, including the
#   build). Any arguments replace that default, e.g. `benchmarks/run-all.sh --filter '*'` for the default (long) job.
#   --label puts a line such as "Preliminary: noisy machine" above the results and on the chart.
# The results folder always holds exactly one run: it is cleared before the new files are copied in.
# Needs: the .NET 10 SDK, python3, and redis-server (or CACHIFY_BENCH_REDIS=host:port) for the Redis scenarios.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results="$root/benchmarks/results"
label=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --label) label="${2:?--label needs a text}"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ ${#args[@]} -eq 0 ]]; then
  args=(--filter '*' --job short)
fi

artifacts=$(mktemp -d "${TMPDIR:-/tmp}/cachify-bench-XXXXXX")
trap 'rm -rf "$artifacts"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
started=$(date +%s)
started_text=$(date -u '+%Y-%m-%d %H:%M UTC')

cd "$root"
dotnet build -c Release benchmarks/Cachify.Benchmarks -v quiet -nologo
dotnet run -c Release --no-build --project benchmarks/Cachify.Benchmarks -- "${args[@]}" --artifacts "$artifacts" | tee "$artifacts/console.log"

wall=$(( $(date +%s) - started ))
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
if ! ls "$artifacts"/results/*-report-brief.json > /dev/null 2>&1; then
  echo "run-all.sh: the run produced no results (see above); benchmarks/results was left as it was." >&2
  exit 1
fi

rm -rf "$results"
mkdir -p "$results/data"
for file in "$artifacts"/results/*-report-github.md; do
  name=$(basename "$file" -report-github.md)
  cp "$file" "$results/${name##*.}.md"
done
cp "$artifacts"/results/*-report.csv "$artifacts"/results/*-report-brief.json "$results/data/"

redis=$(grep -m1 -o 'Redis scenarios.*' "$artifacts/console.log" || true)
{
  if [[ -n "$label" ]]; then echo "label: $label"; fi
  echo "date: $started_text"
  echo "commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src benchmarks/Cachify.Benchmarks || echo ' (with uncommitted changes)')"
  echo "job: ${args[*]}"
  echo "load: $load_before → $load_after"
  echo "wall: $((wall / 60)) min $((wall % 60)) s (build included)"
  if [[ -n "$redis" ]]; then echo "redis: ${redis#Redis scenarios }"; fi
} > "$results/run-info.txt"

python3 "$root/benchmarks/report.py" "$results"
python3 "$root/benchmarks/chart.py" "$results"
echo "run-all.sh: results in $results (commit them with benchmarks/README.md)"
