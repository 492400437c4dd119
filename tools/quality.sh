#!/bin/sh
# quality.sh [MINUTES] [DATA] - the quality report: Petridish growth against
# the random-growth baseline at an equal wall-clock budget, over several
# seeds, then the final training of the best small models.
#
# For each seed (PETRI_QUALITY_SEEDS, default 3) both searches run at the
# same time, one worker of one thread each, so that both see the same
# machine load (the fair mode; PETRI_QUALITY_PARALLEL=0 runs them one after
# the other with the whole machine each). Then:
#   - hypervolume of every run, per seed and the mean, in (multiply-adds,
#     validation error): the area the run's trained models dominate inside
#     [0, R] x [0, 1], R twice the largest multiply-add count of all runs,
#     normalized so that a perfect model at no cost scores 1 (larger is
#     better);
#   - one SVG (frontiers.svg) with the frontiers of every run, Petridish in
#     blue, random growth in orange;
#   - final training: of each mode, the model of best validation accuracy
#     with at most 100K parameters, and with at most 1M, over all its seeds
#     (petri pick), trained again from new weights for PETRI_FINAL_EPOCHS
#     epochs (default 30; 0 skips it) with `petri train --fresh`, and its
#     test accuracy.
# Everything lands in PETRI_QUALITY_DIR (default runs/quality-DATE/), the
# report in report.md there; the seeds already searched there are kept, so
# the same command with another PETRI_FINAL_EPOCHS only trains and reports
# again. MINUTES defaults to 30.
set -eu
cd "$(dirname "$0")/.."
MIN=${1:-30}
DATA=${2:-/usr/share/datasets/fashion-mnist}
SEEDS=${PETRI_QUALITY_SEEDS:-3}
FINAL=${PETRI_FINAL_EPOCHS:-30}
PAR=${PETRI_QUALITY_PARALLEL:-1}
sh tools/setup.sh
OUT=${PETRI_QUALITY_DIR:-runs/quality-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
P=build/petri

run() { # run NAME SEED [OPTIONS...]
  name=$1 seed=$2; shift 2
  echo "== $name: $MIN minutes, seed $seed $*"
  "$P" search "$DATA" --dir "$OUT/$name" --budget "${MIN}m" --seed "$seed" --quiet "$@"
}
for s in $(seq 1 "$SEEDS"); do
  # a seed searched before into the same PETRI_QUALITY_DIR is kept (to run
  # the final training or the report again)
  if [ -s "$OUT/petridish-$s/models.json" ] && [ -s "$OUT/random-$s/models.json" ]; then
    echo "== seed $s: searched before, kept ($OUT)"
    continue
  fi
  if [ "$PAR" = 1 ]; then
    one="--workers 1 --threads-per-worker 1"
    run "petridish-$s" "$s" $one & p1=$!
    run "random-$s" "$s" --random-growth $one & p2=$!
    wait $p1; wait $p2
  else
    run "petridish-$s" "$s"
    run "random-$s" "$s" --random-growth
  fi
  for mode in petridish random; do
    "$P" frontier --dir "$OUT/$mode-$s" --all --json > "$OUT/$mode-$s/models.json"
  done
done

# final training: the best of each mode under 100K and 1M parameters
: > "$OUT/final.txt"
for mode in petridish random; do
  for lim in 100000 1000000; do
    best="" bacc=-1
    for s in $(seq 1 "$SEEDS"); do
      j=$("$P" pick --dir "$OUT/$mode-$s" --max-params "$lim" --json 2> /dev/null) || continue
      acc=$(echo "$j" | python3 -c 'import json, sys; print(json.load(sys.stdin)["model"]["val_acc"])')
      if python3 -c "import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))" "$acc" "$bacc"; then
        best=$s bacc=$acc
      fi
    done
    [ -n "$best" ] || { echo "$mode $lim none" >> "$OUT/final.txt"; continue; }
    m="$OUT/$mode-$lim.petri"
    id=$("$P" pick --dir "$OUT/$mode-$best" --max-params "$lim" -o "$m" --json |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    # a model picked under both limits is trained once
    prev=$(awk -v m="$mode" -v k="$best/$id" '$1 == m && $8 == k { print; exit }' "$OUT/final.txt")
    if [ -n "$prev" ]; then
      echo "$prev" | awk -v l="$lim" '{ $2 = l; print }' >> "$OUT/final.txt"
      continue
    fi
    if [ "$FINAL" != 0 ]; then
      echo "== final training of the best $mode model <= $lim params (seed $best): $FINAL epochs"
      r=$("$P" train "$DATA" --from "$m" --fresh --epochs "$FINAL" --json -o "$OUT/$mode-$lim.final.petri")
      echo "$mode $lim $best $bacc $(echo "$r" | python3 -c 'import json, sys; j = json.load(sys.stdin); print(j["test_acc"], j["params"], j["macs"])') $best/$id $(echo "$r" | python3 -c 'import json, sys; j = json.load(sys.stdin); print("%.0f" % (j["seconds"] * j["threads"]))')" >> "$OUT/final.txt"
    else
      echo "$mode $lim $best $bacc - - - $best/$id 0" >> "$OUT/final.txt"
    fi
  done
done

PYTHONPATH=tools python3 - "$OUT" "$SEEDS" "$MIN" "$FINAL" "$DATA" "$PAR" <<'PY'
import os, sys
from frontier_hv import hull, load
from frontier_hv import hv as hv_r
out, seeds, minutes, final, data, par = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
modes = ["petridish", "random"]
runs = {}
for m in modes:
    for s in range(1, seeds + 1):
        runs[(m, s)] = load(os.path.join(out, "%s-%d" % (m, s), "models.json"))
R = 2.0 * max([x[0] for ms in runs.values() for x in ms] + [1])
hv = lambda ms: hv_r(ms, R)

lines = ["# Quality report: Petridish against random growth", "",
         "%d seed%s, %s minutes per search, %s; data %s." % (seeds, "" if seeds == 1 else "s", minutes, "the two searches of a seed side by side, one worker of one thread each" if par == "1" else "one search after the other, the whole machine each", data), "",
         "Hypervolume in (multiply-adds, validation error), reference point (%.0f multiply-adds, 100%% error): larger is better." % R, "",
         "| seed | Petridish: models | hypervolume | best val acc | random: models | hypervolume | best val acc |",
         "|---|---|---|---|---|---|---|"]
wins, hvs = 0, {m: [] for m in modes}
for s in range(1, seeds + 1):
    row = ["%d" % s]
    for m in modes:
        ms = runs[(m, s)]
        h = hv(ms)
        hvs[m].append(h)
        b = min(ms, key=lambda x: x[1]) if ms else None
        row += ["%d" % len(ms), "%.4f" % h, "%.2f%%" % (100 * (1 - b[1])) if b else "-"]
    wins += hvs["petridish"][-1] >= hvs["random"][-1]
    lines.append("| " + " | ".join(row) + " |")
mean = {m: sum(v) / len(v) for m, v in hvs.items()}
lines.append("| mean | | %.4f | | | %.4f | |" % (mean["petridish"], mean["random"]))
lines += ["", "Petridish's hypervolume >= random growth's on %d of %d seeds." % (wins, seeds), ""]
if par == "1":
    lines += ["CPU time: each search ran %s minutes on one thread, so the %d searches of a mode took %.2f CPU-hours." %
              (minutes, seeds, seeds * float(minutes) / 60), ""]
lines += ["Final training (`petri train --fresh`, %s epochs) of the best model of each mode by validation accuracy:" % final, "",
          "| mode | params at most | model (seed/id) | val acc in the search | test acc after final training | params | multiply-adds | final training, CPU-seconds |",
          "|---|---|---|---|---|---|---|---|"]
with open(os.path.join(out, "final.txt")) as f:
    for l in f:
        p = l.split()
        if p[2] == "none":
            lines.append("| %s | %s | - | no model that small | - | - | - | - |" % (p[0], "{:,}".format(int(p[1]))))
        else:
            ta = "%.2f%%" % (100 * float(p[4])) if p[4] != "-" else "not trained (PETRI_FINAL_EPOCHS=0)"
            lines.append("| %s | %s | %s | %.2f%% | %s | %s | %s | %s |" % (p[0], "{:,}".format(int(p[1])), p[7], 100 * float(p[3]), ta, p[5], p[6], p[8]))
# one SVG with every run's frontier
W, H, L, B = 720, 420, 60, 40
xs = [x[0] for ms in runs.values() for x in ms if x[0] > 0]
import math
x0, x1 = math.log10(min(xs + [1])), math.log10(max(xs + [10]))
x1 = x1 if x1 > x0 else x0 + 1
ys = [x[1] for ms in runs.values() for x in ms]
y1 = min(1.0, max(ys + [0.1]) * 1.05)
fx = lambda c: L + (W - L - 10) * (math.log10(max(c, 1)) - x0) / (x1 - x0)
fy = lambda e: 10 + (H - 10 - B) * e / y1
svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (W, H),
       '<rect width="100%" height="100%" fill="white"/>',
       '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, H - B, W - 10, H - B),
       '<line x1="%d" y1="10" x2="%d" y2="%d" stroke="black"/>' % (L, L, H - B),
       '<text x="%d" y="%d">multiply-adds (log)</text>' % (W / 2 - 50, H - 8),
       '<text x="12" y="%d" transform="rotate(-90 12 %d)">validation error</text>' % (H / 2, H / 2)]
for k in range(int(math.floor(x0)), int(math.ceil(x1)) + 1):
    if x0 <= k <= x1:
        svg.append('<text x="%.1f" y="%d">1e%d</text>' % (fx(10 ** k) - 10, H - B + 14, k))
for k in range(0, 6):
    e = y1 * k / 5
    svg.append('<text x="4" y="%.1f">%.1f%%</text>' % (fy(e) + 4, 100 * e))
color = {"petridish": "#1f5fbf", "random": "#e08020"}
for (m, s), ms in sorted(runs.items()):
    for c, e, *_ in ms:
        svg.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s" fill-opacity="0.5"/>' % (fx(c), fy(e), color[m]))
    st = hull(ms)
    if st:
        pts = []
        for i, (c, e) in enumerate(st):
            pts.append("%.1f,%.1f" % (fx(c), fy(e)))
            if i + 1 < len(st):
                pts.append("%.1f,%.1f" % (fx(st[i + 1][0]), fy(e)))
        svg.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (color[m], " ".join(pts)))
svg.append('<text x="%d" y="24" fill="%s">Petridish (%d seeds)</text>' % (W - 200, color["petridish"], seeds))
svg.append('<text x="%d" y="40" fill="%s">random growth (%d seeds)</text>' % (W - 200, color["random"], seeds))
svg.append("</svg>")
with open(os.path.join(out, "frontiers.svg"), "w") as f:
    f.write("\n".join(svg) + "\n")
lines += ["", "Frontiers of every run: frontiers.svg."]
with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "report: $OUT/report.md, frontiers: $OUT/frontiers.svg"
