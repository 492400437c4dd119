#!/bin/sh
# zoo_table.sh [PETRI] [FAMILY...] - torchvision's conv families in petri, one
# at a time: parameters and multiply-adds per image (petri inspect --json;
# 1x28x28 inputs, densenet121 1x32x32), the median wall time of 5 imports
# (petri inspect), the largest logit difference from ONNX Runtime on 32
# Fashion-MNIST test images (absolute, and relative to each row's largest
# |logit|), and the first child of a search warm-started from the import
# (three jobs, as in tests/test_zoo.sh): its id, what it grew, its val acc.
# Exports are opset 13, folded (tests/zoo_export.py). A family petri cannot
# import gets its error on its row. Runs on 2 threads; expect about a minute
# per family.
set -u
cd "$(dirname "$0")/.."
P=${1:-build/petri}
[ $# -gt 0 ] && shift
FAMS=${*:-resnet18 regnet_x_400mf mobilenet_v2 mobilenet_v3_small efficientnet_b0 shufflenet_v2_x0_5 squeezenet1_1 densenet121}
PY=/usr/bin/python3
export OMP_NUM_THREADS=2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

printf "%-20s %5s %10s %9s %9s %10s %10s  %s\n" family input params "M MACs" "import s" "max |d|" "max rel d" "first child: id, grown, val acc"
for F in $FAMS; do
  S=28
  [ "$F" = densenet121 ] && S=32
  sh="--shape 1x${S}x${S} --input-scale 1/255"
  m="$T/$F.onnx"
  if ! $PY tools/../tests/zoo_data.py "$T/fm$S" --train 512 --test 32 --size $S > "$T/err" 2>&1 ||
     ! $PY tests/zoo_export.py "$F" 13 fold "$m" --size $S > "$T/err" 2>&1; then
    printf "%-20s %s\n" "$F" "export failed: $(tail -1 "$T/err")"; continue
  fi
  if ! "$P" inspect "$m" --json > "$T/insp" 2> "$T/err"; then
    printf "%-20s %5s  %s\n" "$F" "${S}x$S" "not imported: $(head -c 160 "$T/err")"; continue
  fi
  params=$(sed -n 's/.*"params": \([0-9]*\).*/\1/p' "$T/insp" | head -1)
  macs=$(sed -n 's/.*"macs": \([0-9]*\).*/\1/p' "$T/insp" | head -1)
  med=$(python3 -c "
import statistics, subprocess, sys, time
ts = []
for i in range(5):
    t0 = time.monotonic()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ts.append(time.monotonic() - t0)
print('%.3f' % statistics.median(ts))" "$P" inspect "$m")
  "$P" predict "$m" "$T/fm$S.csv" $sh --rows 32 --threads 2 -o "$T/p.csv" 2> /dev/null
  node tests/onnx_ort.js "$m" "$T/fm$S.test.csv" 32 "$T/o.csv" 1x${S}x${S} 1/255 > /dev/null 2>&1
  d=$(python3 tests/onnx_compare.py "$T/p.csv" "$T/o.csv" 1 | sed -n 's/.*max |diff| \([^,]*\),.*/\1/p')
  r=$(python3 tests/onnx_compare.py "$T/p.csv" "$T/o.csv" 1 --rel | sed -n 's/.*max rel diff \([^,]*\),.*/\1/p')
  child="-"
  if "$P" search "$T/fm$S.csv" $sh --dir "$T/exp$F" --from "$m" --jobs 3 --seed-epochs 0.001 --cand-epochs 0.03 \
    --child-epochs 0.03 --workers 1 --threads-per-worker 2 --val 32 --batch 32 --lr 0.01 --quiet > /dev/null 2>&1; then
    child=$("$P" status --dir "$T/exp$F" --json | python3 -c "
import json, re, sys
s = json.load(sys.stdin)
c = [e['msg'] for e in s['events'] if e['msg'].startswith('candidate') and '-> child' in e['msg']]
t = [e['msg'] for e in s['events'] if e['msg'].startswith('trained') and 'depth 1' in e['msg']]
if not c or not t:
    print('no child'); sys.exit()
m = re.search(r'grew (.*?) \(', c[0]); k = re.search(r'-> child (\S+)', c[0]); a = re.search(r'val acc ([0-9.]+%)', t[0])
print('%s, %s, %s' % (k.group(1), m.group(1), a.group(1)))")
  fi
  printf "%-20s %5s %10s %9.2f %9.3f %10s %10s  %s\n" "$F" "${S}x$S" "$params" "$(python3 -c "print($macs / 1e6)")" "$med" "$d" "$r" "$child"
done
