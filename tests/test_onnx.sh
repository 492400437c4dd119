#!/bin/sh
# test_onnx.sh PETRI - ONNX in and out, checked by other runtimes on real
# Fashion-MNIST test images (the first 256):
#   petri -> ONNX -> ONNX Runtime: mlp, cnn-small, cnn-mid, the seed and a
#     grown child, briefly trained (so BN statistics are not trivial); the
#     onnx checker accepts every file; re-imported, each predicts the same;
#   PyTorch -> ONNX -> petri: seven nets built in PyTorch (BN statistics,
#     residual adds, depthwise/grouped/dilated convs, pools, concat, a gate,
#     Flatten and the Reshape chain of x.view(x.size(0), -1), an MLP; ReLU6,
#     clamp, sigmoid, hardsigmoid, hardswish, SiLU and squeeze-and-excitation
#     at opsets 13 and 17; the shape ops of torchvision's ShuffleNet,
#     SqueezeNet and DenseNet: pad, chunk, split, channel shuffle, ceil_mode
#     and count_include_pad), the last three exported again to ONNX Runtime;
#   bad files: unsupported op, dynamic shapes, external data, truncated,
#     garbage: a clear error naming the node and op, exit 1;
#   warm start: train and search --from an imported model;
#   the input scale in the metadata, written and read back.
# Logits must agree within 1e-4. Needs node + onnxruntime-node (installed
# by tools/setup.sh in build/ort), python3-onnx and python3-torch.
set -u
P="$1"
R=$(cd "$(dirname "$0")/.." && pwd)
D=${PETRI_DATA:-/usr/share/datasets/fashion-mnist}
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
ROWS=256
export OMP_NUM_THREADS=2

# logits of two CSV files agree within 1e-4
agree() { # name a.csv b.csv
  if r=$(python3 "$R/tests/onnx_compare.py" "$2" "$3" 1e-4 2>&1); then ok "$1: $r"; else bad "$1: $r"; fi
}

# ---- petri -> ONNX -> ONNX Runtime, and back into petri ----
q="--epoch-frac 0.05 --val 1000 --threads 2 --quiet"
for a in mlp cnn-small cnn-mid seed; do
  "$P" train "$D" --arch $a $q -o "$T/$a.petri" > /dev/null 2> "$T/err" || bad "train $a: $(cat "$T/err")"
done
"$P" grow "$T/seed.petri" "$D" -o "$T/child.petri" --cand-epochs 0.02 --epoch-frac 0.02 --val 1000 --threads 2 \
  > "$T/grow.out" 2> "$T/err" || bad "grow: $(cat "$T/err")"
grep -q "^grown:" "$T/grow.out" && ok "grown child: $(grep '^grown:' "$T/grow.out")" || bad "the child grew nothing"
for a in mlp cnn-small cnn-mid seed child; do
  if ! "$P" export "$T/$a.petri" -o "$T/$a.onnx" > /dev/null 2> "$T/err"; then bad "export $a: $(cat "$T/err")"; continue; fi
  r=$($PY "$R/tests/onnx_check.py" "$T/$a.onnx" 2>&1) && ok "checker: $r" || bad "checker $a: $r"
  "$P" predict "$T/$a.petri" "$D" --rows $ROWS -o "$T/$a.petri.csv" 2> "$T/err" || bad "predict $a: $(cat "$T/err")"
  if node "$R/tests/onnx_ort.js" "$T/$a.onnx" "$D" $ROWS "$T/$a.ort.csv" 2> "$T/err"; then
    agree "$a: petri vs ONNX Runtime" "$T/$a.petri.csv" "$T/$a.ort.csv"
  else bad "onnxruntime $a: $(cat "$T/err")"; fi
  "$P" predict "$T/$a.onnx" "$D" --rows $ROWS -o "$T/$a.back.csv" 2> "$T/err" || bad "re-import $a: $(cat "$T/err")"
  agree "$a: petri vs petri -> ONNX -> petri" "$T/$a.petri.csv" "$T/$a.back.csv"
done
# the export records its conventions
$PY -c "
import onnx, sys
m = onnx.load(sys.argv[1]); p = {e.key: e.value for e in m.metadata_props}
assert m.graph.input[0].name == 'input' and m.graph.output[0].name == 'logits', 'names'
assert p['classes'] == '10' and 'byte/255' in p['input'] and p['normalization'].startswith('none'), p
assert float(p['input_scale']) == 1 / 255, p
assert m.opset_import[0].version >= 13
" "$T/child.onnx" && ok "metadata: input/logits, classes, [0,1] pixels, input_scale 1/255, no outside normalization" || bad "metadata"
# the input scale in and out: a CSV-trained model says its values are used
# as written (no byte/255), and import reads the scale back
awk 'BEGIN { srand(3); for (i = 0; i < 200; i++) { c = i % 2; printf "%d", c;
  for (k = 0; k < 16; k++) printf ",%.3f", rand() + (c && k < 8); printf "\n" } }' > "$T/v.csv"
if "$P" train "$T/v.csv" --shape 1x4x4 --arch mlp --epochs 1 --batch 16 --quiet -o "$T/v.onnx" > /dev/null 2> "$T/err"; then
  $PY -c "
import onnx, sys
p = {e.key: e.value for e in onnx.load(sys.argv[1]).metadata_props}
assert p['input_scale'] == '1' and 'byte/255' not in p['input'] and 'times 1' in p['input'], p
" "$T/v.onnx" && ok "metadata of a CSV-trained export: input_scale 1, not byte/255" || bad "metadata of a CSV-trained export"
  "$P" inspect "$T/v.onnx" --json | grep -q '"input_scale": 1,' && "$P" inspect "$T/child.onnx" --json | grep -q '"input_scale": 0.0039215686274509803,' \
    && ok "import reads input_scale back" || bad "import lost input_scale"
  "$P" train "$T/v.csv" --shape 1x4x4 --input-scale 0.5 --arch mlp --epochs 1 --batch 16 --quiet -o "$T/h.onnx" > /dev/null 2> "$T/err" &&
    "$P" inspect "$T/h.onnx" --json | grep -q '"input_scale": 0.5,' && ok "--input-scale 0.5 survives ONNX" || bad "--input-scale 0.5 through ONNX: $(cat "$T/err")"
else bad "train on CSV: $(cat "$T/err")"; fi

# ---- PyTorch -> ONNX -> petri ----
if $PY "$R/tests/onnx_torch.py" "$T/torch" --rows $ROWS --data "$D" > "$T/torch.out" 2>&1; then
  for n in plain resnet mixed mlp act act17 shape; do
    ops=$(sed -n "s/^$n ops: *//p" "$T/torch.out" | head -1)
    if "$P" predict "$T/torch/$n.onnx" "$D" --rows $ROWS -o "$T/$n.imp.csv" 2> "$T/err"; then
      agree "torch $n -> petri ($ops)" "$T/torch/$n.torch.csv" "$T/$n.imp.csv"
    else bad "import torch $n: $(cat "$T/err")"; fi
  done
  # the activations and squeeze-and-excitation, and the shape ops (Pad,
  # Reshape/Transpose/Reshape, Slice, pools with ceil_mode and
  # count_include_pad), go back out as ONNX that ONNX Runtime runs to the
  # same logits
  for n in act act17 shape; do
    if "$P" export "$T/torch/$n.onnx" -o "$T/$n.re.onnx" > /dev/null 2> "$T/err" &&
       node "$R/tests/onnx_ort.js" "$T/$n.re.onnx" "$D" $ROWS "$T/$n.re.csv" > /dev/null 2> "$T/err"; then
      r=$($PY "$R/tests/onnx_check.py" "$T/$n.re.onnx" 2>&1) && ok "checker: $r" || bad "checker $n.re: $r"
      agree "torch $n -> petri -> ONNX -> ONNX Runtime" "$T/torch/$n.torch.csv" "$T/$n.re.csv"
    else bad "re-export $n: $(cat "$T/err")"; fi
  done
else bad "onnx_torch.py: $(tail -5 "$T/torch.out")"; fi
# the imported model is a normal petri model: eval, train --from, inspect
e=$("$P" eval "$T/torch/resnet.onnx" "$D" --json 2> "$T/err") && echo "$e" | grep -q test_acc && ok "eval resnet.onnx --json: $e" \
  || bad "eval onnx: $(cat "$T/err")"
"$P" inspect "$T/torch/plain.onnx" > "$T/insp" 2>&1 && grep -q "block-end" "$T/insp" && ok "imported net has growth targets" \
  || bad "inspect plain.onnx: $(cat "$T/insp")"
"$P" inspect "$T/torch/plain.onnx" --json | grep -q '"input_scale": null' && ok "no input_scale in a PyTorch export: unknown" \
  || bad "input_scale of a PyTorch export"
"$P" train "$D" --from "$T/torch/plain.onnx" $q -o "$T/plain.tuned.onnx" > /dev/null 2> "$T/err" && [ -s "$T/plain.tuned.onnx" ] \
  && ok "train --from plain.onnx -o plain.tuned.onnx" || bad "train --from onnx: $(cat "$T/err")"
# a short search warm-started from the PyTorch model: the seed is the
# imported net, and growth adds to it
if "$P" search "$D" --dir "$T/exp" --from "$T/torch/plain.onnx" --jobs 4 --seed-epochs 0.02 --cand-epochs 0.02 \
  --child-epochs 0.02 --workers 1 --threads-per-worker 2 --quiet > "$T/s.out" 2>&1; then
  n=$("$P" frontier --dir "$T/exp" --all --json | grep -o '"id"' | wc -l)
  [ "$n" -ge 2 ] && ok "search --from plain.onnx: $n trained models" || bad "search --from onnx trained $n models"
  "$P" pick --dir "$T/exp" -o "$T/pick.onnx" > /dev/null 2> "$T/err" && node "$R/tests/onnx_ort.js" "$T/pick.onnx" "$D" 16 "$T/pick.csv" \
    2> "$T/err" && ok "pick -o pick.onnx runs in ONNX Runtime" || bad "pick onnx: $(cat "$T/err")"
else bad "search --from onnx: $(tail -5 "$T/s.out")"; fi
# a trained model given with --from enters the frontier as it is: no
# training by default, the same weights, the same predictions
if "$P" search "$D" --dir "$T/exp3" --from "$T/seed.petri" --jobs 1 --workers 1 --threads-per-worker 2 --quiet \
  > "$T/s3.out" 2>&1; then
  id=$("$P" frontier --dir "$T/exp3" --all --json | grep -o '"id": "[^"]*"' | head -1 | cut -d'"' -f4)
  "$P" export "$id" --dir "$T/exp3" -o "$T/ws.petri" > /dev/null 2> "$T/err" || bad "export $id: $(cat "$T/err")"
  "$P" predict "$T/seed.petri" "$D" --rows 64 -o "$T/ws.a.csv" > /dev/null 2>&1
  "$P" predict "$T/ws.petri" "$D" --rows 64 -o "$T/ws.b.csv" > /dev/null 2>&1
  [ -s "$T/ws.a.csv" ] && cmp -s "$T/ws.a.csv" "$T/ws.b.csv" && ok "search --from a trained model: it enters as it is, same predictions" \
    || bad "search --from changed the model before it entered the frontier"
  e0=$("$P" inspect "$T/seed.petri" --json | grep -o '"epochs": [0-9.e+-]*')
  e1=$("$P" inspect "$T/ws.petri" --json | grep -o '"epochs": [0-9.e+-]*')
  [ -n "$e0" ] && [ "$e0" = "$e1" ] && ok "no epochs added by the warm start ($e1)" || bad "warm start epochs: $e0 -> $e1"
else bad "search --from seed.petri: $(tail -5 "$T/s3.out")"; fi
expect_fail "--seed-epochs 0 without --from" "is for a --from model" "$P" search "$D" --dir "$T/exp4" --seed-epochs 0 --jobs 1

# ---- bad files: clear error naming the node and op, exit 1 ----
if $PY "$R/tests/onnx_bad.py" "$T/bad" > /dev/null 2> "$T/err"; then
  expect_fail "unsupported op" "node 'tanh1' (Tanh)" "$P" inspect "$T/bad/unsupported.onnx"
  expect_fail "dynamic shape" "dimension 2 is 'H'" "$P" eval "$T/bad/dynamic.onnx" "$D"
  expect_fail "external data" "external file" "$P" inspect "$T/bad/external.onnx"
  expect_fail "truncated" "does not parse" "$P" inspect "$T/bad/truncated.onnx"
  expect_fail "garbage" "not a valid ONNX model" "$P" inspect "$T/bad/garbage.onnx"
  expect_fail "search --from a bad model" "Tanh" "$P" search "$D" --dir "$T/exp2" --from "$T/bad/unsupported.onnx" --jobs 1
  [ ! -e "$T/exp2/data.mdb" ] && ok "nothing stored for the refused search" || bad "a store was created for a refused search"
else bad "onnx_bad.py: $(cat "$T/err")"; fi
# export refuses what it cannot write, and keeps an existing file whole
printf "keep" > "$T/keep.onnx"
expect_fail "export to a missing directory" "cannot write" "$P" export "$T/child.petri" -o "$T/no/such/dir/x.onnx"
expect_fail "export of a non-model" "not a valid ONNX model" "$P" export "$T/keep.onnx" -o "$T/out.onnx"

finish onnx
