#!/bin/sh
# quality.sh [MINUTES] [DATA] - search quality at equal wall-clock budget:
# Petridish growth and the random-growth baseline from the same seed, one
# after the other (each gets the whole machine), then both frontiers and
# their hypervolume in (multiply-adds, validation error).
# PETRI_QUALITY_PARALLEL=1 runs the two at the same time instead, one worker
# and one thread each: both see the same machine load, which keeps the
# comparison fair when the machine is not quiet.
#
# Hypervolume: the area dominated by a run's trained models inside the box
# [0, R_macs] x [0, 1] of (multiply-adds, validation error), where R_macs is
# twice the largest multiply-add count seen in either run; normalized so a
# perfect model at zero cost scores 1. Larger is better.
set -eu
cd "$(dirname "$0")/.."
MIN=${1:-30}
DATA=${2:-/usr/share/datasets/fashion-mnist}
sh tools/setup.sh
OUT=${PETRI_QUALITY_DIR:-runs/quality-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PAR=${PETRI_QUALITY_PARALLEL:-0}
run() {  # run MODE [OPTIONS...]
  mode=$1; shift
  echo "== $mode: $MIN minutes $*"
  build/petri search "$DATA" --dir "$OUT/$mode" --budget "${MIN}m" --seed 1 --quiet "$@"
}
if [ "$PAR" = 1 ]; then
  one="--workers 1 --threads-per-worker 1"
  run petridish $one & p1=$!
  run random --random-growth $one & p2=$!
  wait $p1; wait $p2
else
  run petridish
  run random --random-growth
fi
for mode in petridish random; do
  echo "== $mode frontier"
  build/petri frontier --dir "$OUT/$mode" --svg "$OUT/$mode/frontier.svg"
  build/petri frontier --dir "$OUT/$mode" --all --json > "$OUT/$mode/models.json"
done
python3 - "$OUT/petridish/models.json" "$OUT/random/models.json" <<'PY'
import json, sys
runs = {}
for path, name in zip(sys.argv[1:], ["petridish", "random"]):
    with open(path) as f:
        runs[name] = [(m["macs"], 1.0 - m["val_acc"], m["test_acc"], m["id"]) for m in json.load(f)["models"]]
R = 2.0 * max(m[0] for ms in runs.values() for m in ms)
def hv(ms):
    pts = sorted((c, e) for c, e, _, _ in ms if c <= R)
    area, best = 0.0, 1.0
    for i, (c, e) in enumerate(pts):
        best = min(best, e)
        nxt = pts[i + 1][0] if i + 1 < len(pts) else R
        area += (nxt - c) * (1.0 - best)
    return area / R
print("reference point: %.0f multiply-adds (2x the largest model), validation error 100%%" % R)
for name, ms in runs.items():
    b = min(ms, key=lambda m: m[1])
    print("%-10s %3d models  hypervolume %.4f  best val acc %.2f%% (%s: test acc %.2f%%, %.2f M mult-adds)"
          % (name, len(ms), hv(ms), 100 * (1 - b[1]), b[3], 100 * b[2], b[0] / 1e6))
PY
