#!/bin/sh
# test_zoo.sh PETRI FAMILY - one torchvision conv family (tests/zoo_export.py:
# random weights, one input channel, 10 classes, non-trivial BN statistics)
# through petri, on real Fashion-MNIST images:
#   exported at opset 13 with constant folding and at opset 17 without, each
#     imported (petri inspect) and its logits compared with ONNX Runtime's
#     (within 1e-4 of the largest |logit| of each row);
#   one training step on a fixed batch (train --from, the opset 17 export):
#     the weights change and the loss on that batch goes down;
#   a search warm-started from it, of three jobs: the model's evaluation
#     (it enters the frontier as it is, no training), one candidate job,
#     one child job;
#     the child grew, computed its parent's function at step 0 (val loss
#     within 1e-5 relative, from the candidate's event), and its ONNX export
#     runs in ONNX Runtime with petri's logits (1e-4 relative).
# Images are 28x28 (Fashion-MNIST as it is), except for densenet121: its
# stride-4 stem and three 2x2 average-pool transitions leave nothing of
# 28x28, so it gets 32x32 images, each 28x28 image centred in a frame of
# zeros (2 pixels each side; tests/zoo_data.py writes them as CSV).
# Data goes through CSV files (tests/zoo_data.py) with --input-scale 1/255:
# pixels in [0, 1], as from the IDX files.
# Needs /usr/bin/python3 with torch, torchvision and onnx, and node with
# onnxruntime-node (tools/setup.sh installs them).
set -u
P="$1"
F="$2"
R=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=2
S=28
[ "$F" = densenet121 ] && S=32
ROWS=32
sh="--shape 1x${S}x${S} --input-scale 1/255"

# within TOL of the largest |logit| of each row
agree() { # name a.csv b.csv
  if r=$(python3 "$R/tests/onnx_compare.py" "$2" "$3" 1e-4 --rel 2>&1); then ok "$1: $r"; else bad "$1: $r"; fi
}
# runs petri and ONNX Runtime on the test rows, compares
vs_ort() { # name model.petri|onnx model.onnx
  if ! "$P" predict "$2" "$T/fm.csv" $sh --rows $ROWS --threads 2 -o "$T/p.csv" 2> "$T/err"; then
    bad "$1: petri predict: $(cat "$T/err")"; return
  fi
  if ! node "$R/tests/onnx_ort.js" "$3" "$T/fm.test.csv" $ROWS "$T/o.csv" 1x${S}x${S} 1/255 > /dev/null 2> "$T/err"; then
    bad "$1: ONNX Runtime: $(cat "$T/err")"; return
  fi
  agree "$1: petri vs ONNX Runtime" "$T/p.csv" "$T/o.csv"
}

$PY "$R/tests/zoo_data.py" "$T/fm" --train 512 --test $ROWS --size $S 2> "$T/err" &&
  $PY "$R/tests/zoo_data.py" "$T/fb" --batch-of 32 --size $S 2>> "$T/err" || { bad "zoo_data.py: $(cat "$T/err")"; finish "zoo $F"; exit; }

# ---- two exports: import, and the same logits as ONNX Runtime ----
M=""
for v in "13 fold" "17 nofold"; do
  set -- $v
  m="$T/$F.$1$2.onnx"
  if ! $PY "$R/tests/zoo_export.py" "$F" "$1" "$2" "$m" --size $S > "$T/err" 2>&1; then
    bad "zoo_export.py $F $1 $2: $(tail -3 "$T/err")"; continue
  fi
  if ! "$P" inspect "$m" > "$T/insp" 2> "$T/err"; then
    bad "import $F (opset $1, $2): $(cat "$T/err")"; continue
  fi
  n=$(grep -c "block-end" "$T/insp")
  [ "$n" -ge 1 ] && ok "import $F (opset $1, $2): $(grep '^cost:' "$T/insp" | cut -d, -f1-2), $n places to grow" ||
    bad "import $F (opset $1, $2): no place to grow"
  vs_ort "$F opset $1 $2" "$m" "$m"
  M=$m
done
[ -n "$M" ] || { finish "zoo $F"; exit; }

# ---- one training step on a fixed batch lowers its loss ----
loss() { sed -n 's/.*"test_loss": \([^,}]*\).*/\1/p'; }
"$P" export "$M" -o "$T/base.onnx" > /dev/null 2> "$T/err" || bad "export of the import: $(cat "$T/err")"
l0=$("$P" eval "$M" "$T/fb.csv" $sh --threads 2 --json 2> "$T/err" | loss)
if "$P" train "$T/fb.csv" --from "$M" $sh --val 0 --batch 32 --epochs 1 --no-augment --lr 0.001 --threads 2 --quiet \
  -o "$T/tuned.onnx" > /dev/null 2> "$T/err"; then
  l1=$("$P" eval "$T/tuned.onnx" "$T/fb.csv" $sh --threads 2 --json | loss)
  python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(not b < a)" "$l0" "$l1" &&
    ok "one step on a fixed batch of 32: loss $l0 -> $l1" || bad "one step on a fixed batch: loss $l0 -> $l1"
  if r=$($PY -c "
import sys, onnx
from onnx import numpy_helper as nh
a = {t.name: nh.to_array(t) for t in onnx.load(sys.argv[1]).graph.initializer}
b = {t.name: nh.to_array(t) for t in onnx.load(sys.argv[2]).graph.initializer}
assert a.keys() == b.keys(), 'the tensors differ in names'
big = [k for k in a if a[k].size > 1 and a[k].shape == b[k].shape]
ch = [k for k in big if (a[k] != b[k]).any()]
d = max(float(abs(a[k] - b[k]).max()) for k in big)
print('%d of %d weight tensors changed, max |dw| %.3g' % (len(ch), len(big), d))
sys.exit(len(ch) * 2 < len(big))
" "$T/base.onnx" "$T/tuned.onnx" 2>&1); then ok "the step changed the weights: $r"; else bad "weights after one step: $r"; fi
else bad "train --from $F: $(cat "$T/err")"; fi

# ---- a warm-started search grows one child, equal to its parent at step 0 ----
if "$P" search "$T/fm.csv" $sh --dir "$T/exp" --from "$M" --jobs 3 --cand-epochs 0.03 \
  --child-epochs 0.03 --workers 1 --threads-per-worker 2 --val 32 --batch 32 --lr 0.01 --quiet > "$T/s.out" 2>&1; then
  "$P" status --dir "$T/exp" --json > "$T/st.json" && "$P" frontier --dir "$T/exp" --all --json > "$T/fr.json"
  if r=$(python3 -c "
import json, re, sys
ev = [e['msg'] for e in json.load(open(sys.argv[1]))['events']]
c = [m for m in ev if m.startswith('candidate') and '-> child' in m]
assert len(c) == 1, 'no candidate grew a child: %s' % ev
m = re.search(r'grew (.*) \(parent val acc after joint training .*\(loss ([^)]*)\), child at step 0 .*\(loss ([^)]*)\)', c[0])
assert m, c[0]
p, k = float(m.group(2)), float(m.group(3))
rel = abs(p - k) / abs(p)
fr = json.load(open(sys.argv[2]))['models']
kids = [x for x in fr if x['depth'] == 1]
assert len(kids) == 1 and len(fr) == 2, 'want a parent and one child, have %s' % fr
par = [x for x in fr if x['depth'] == 0][0]
assert kids[0]['params'] > par['params'], 'the child is no bigger than its parent'
print('%s %s grew %s; val loss at step 0 %.9g, parent %.9g, relative difference %.2g' % (kids[0]['id'], kids[0]['parent'], m.group(1), k, p, rel))
sys.exit(rel > 1e-5)
" "$T/st.json" "$T/fr.json" 2>&1); then
    ok "search --from $F: $r"
    id=${r%% *}
    if "$P" export "$id" --dir "$T/exp" -o "$T/child.onnx" > /dev/null 2> "$T/err" &&
      "$P" export "$id" --dir "$T/exp" -o "$T/child.petri" > /dev/null 2> "$T/err"; then
      vs_ort "the grown child $id" "$T/child.petri" "$T/child.onnx"
    else bad "export $id: $(cat "$T/err")"; fi
  else bad "search --from $F: $r"; fi
else bad "search --from $F: $(tail -5 "$T/s.out")"; fi

finish "zoo $F"
