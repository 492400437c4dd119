#!/bin/sh
# defaults.sh [MINUTES] [DATA] - search settings compared by frontier
# hypervolume per CPU-hour.
#
# Each setting of PETRI_DEFAULTS_SETTINGS (space-separated NAME=OPTIONS,
# commas for spaces; default below) runs one search of MINUTES (default 12)
# on one worker of one thread, two settings side by side at a time so that
# both see the same machine load (list an even number of settings). Then a
# table: the trained models, the hypervolume in (multiply-adds, validation
# error) with one reference point for all runs (twice the largest
# multiply-add count), the hypervolume per CPU-hour, the best validation
# accuracy, and the candidate and child jobs' mean seconds. Runs land in
# PETRI_DEFAULTS_DIR (default runs/defaults-DATE/), the table in
# report.md there. A run already there is not run again.
set -eu
cd "$(dirname "$0")/.."
MIN=${1:-12}
DATA=${2:-/usr/share/datasets/fashion-mnist}
SETTINGS=${PETRI_DEFAULTS_SETTINGS:-"joint=--joint frozen=--frozen-parent"}
OUT=${PETRI_DEFAULTS_DIR:-runs/defaults-$(date +%Y%m%d-%H%M%S)}
P=${PETRI:-build/petri}
SEED=${PETRI_DEFAULTS_SEED:-1}
mkdir -p "$OUT"

run() { # run NAME OPTIONS
  [ -s "$OUT/$1/models.json" ] && return 0
  echo "== $1: $MIN minutes: $(echo "$2" | tr ',' ' ')"
  # shellcheck disable=SC2046 # the options split on purpose
  "$P" search "$DATA" --dir "$OUT/$1" --budget "${MIN}m" --seed "$SEED" --workers 1 --threads-per-worker 1 \
    --quiet $(echo "$2" | tr ',' ' ')
  "$P" frontier --dir "$OUT/$1" --all --json > "$OUT/$1/models.json"
}
set -- $SETTINGS
while [ $# -gt 0 ]; do
  a=$1; shift
  run "${a%%=*}" "${a#*=}" & p1=$!
  if [ $# -gt 0 ]; then
    b=$1; shift
    run "${b%%=*}" "${b#*=}" & p2=$!
    wait $p2
  fi
  wait $p1
done

PYTHONPATH=tools python3 - "$OUT" "$MIN" "$SETTINGS" <<'PY'
import os, re, sys
from frontier_hv import hv, load
out, minutes, settings = sys.argv[1], float(sys.argv[2]), sys.argv[3].split()
names = [s.split("=", 1)[0] for s in settings]
opts = {s.split("=", 1)[0]: s.split("=", 1)[1].replace(",", " ") for s in settings}
runs = {n: load(os.path.join(out, n, "models.json")) for n in names}
R = 2.0 * max([x[0] for ms in runs.values() for x in ms] + [1])

def job_seconds(n):  # mean seconds of candidate and child jobs (not the seed's), from the log
    t = {"candidate": [], "child": []}
    with open(os.path.join(out, n, "log")) as f:
        for l in f:
            m = re.search(r"#\d+ candidate \d+ on \S+: .*, ([0-9.]+) s\)", l)
            if m:
                t["candidate"].append(float(m.group(1)))
            m = re.search(r"#\d+ trained \S+ \(parent m\S+, depth \d+\): .*, ([0-9.]+) s$", l)
            if m:
                t["child"].append(float(m.group(1)))
    return {k: (sum(v) / len(v) if v else float("nan"), len(v)) for k, v in t.items()}

cpuh = minutes / 60.0
lines = ["# Search settings by hypervolume per CPU-hour", "",
         "%g minutes a search, one worker of one thread, two searches side by side; reference point (%.0f multiply-adds, 100%% error)." % (minutes, R), "",
         "| setting | options | models | hypervolume | per CPU-hour | best val acc | candidate jobs: mean s (n) | child jobs: mean s (n) |",
         "|---|---|---|---|---|---|---|---|"]
for n in names:
    ms = runs[n]
    h = hv(ms, R)
    best = max((1 - x[1] for x in ms), default=float("nan"))
    js = job_seconds(n)
    lines.append("| %s | %s | %d | %.4f | %.4f | %.2f%% | %.1f (%d) | %.1f (%d) |" % (
        n, opts[n], len(ms), h, h / cpuh, 100 * best, js["candidate"][0], js["candidate"][1], js["child"][0], js["child"][1]))
with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
