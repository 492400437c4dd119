#!/bin/sh
# test_cli.sh PETRI - the command line on a tiny CSV data set: train, save,
# inspect, eval, and clear errors on bad input.
set -u
P="$1"
. "$(dirname "$0")/lib.sh"
# 3 classes of 4x4 "images": a bright row, a bright column, a bright corner
awk 'BEGIN { srand(3); for (i = 0; i < 400; i++) { c = i % 3; printf "%d", c;
  for (r = 0; r < 4; r++) for (q = 0; q < 4; q++) { v = rand() * 0.2;
    if (c == 0 && r == 0) v += 0.8; if (c == 1 && q == 0) v += 0.8; if (c == 2 && r > 1 && q > 1) v += 0.8;
    printf ",%.3f", v } printf "\n" } }' > "$T/d.csv"
head -90 "$T/d.csv" > "$T/d.test.csv"

if "$P" train "$T/d.csv" --shape 1x4x4 --arch cnn-small --epochs 8 --batch 16 --lr 0.1 --no-augment --json -o "$T/m.petri" > "$T/out.json" 2> "$T/err"; then
  acc=$(sed 's/.*"test_acc": \([0-9.]*\).*/\1/' "$T/out.json")
  awk "BEGIN { exit !($acc > 0.9) }" && ok "train learns (test_acc $acc)" || bad "train accuracy $acc"
else bad "train failed: $(cat "$T/err")"; fi
for k in test_acc val_acc train_img_s params macs latency_ms; do
  grep -q "\"$k\"" "$T/out.json" && ok "json has $k" || bad "json lacks $k"
done
"$P" inspect "$T/m.petri" > "$T/insp" && grep -q "conv" "$T/insp" && grep -q "cost:" "$T/insp" && ok "inspect" || bad "inspect"
"$P" inspect "$T/m.petri" --json | grep -q '"layers": \[' && ok "inspect --json" || bad "inspect --json"
e=$("$P" eval "$T/m.petri" "$T/d.csv" --shape 1x4x4 --json) && echo "$e" | grep -q test_loss && ok "eval --json" || bad "eval"
# the test split evaluated by eval equals the one reported by train
a1=$(sed 's/.*"test_acc": \([0-9.]*\).*/\1/' "$T/out.json"); a2=$(echo "$e" | sed 's/.*"test_acc": \([0-9.]*\).*/\1/')
[ "$a1" = "$a2" ] && ok "eval reproduces train's test accuracy" || bad "eval $a2 vs train $a1"
# continue training from a model file
"$P" train "$T/d.csv" --shape 1x4x4 --from "$T/m.petri" --epochs 1 --batch 16 --quiet -o "$T/m2.petri" > /dev/null 2>&1 && ok "train --from" || bad "train --from"
# final training: --fresh keeps the architecture and draws new weights (the
# test accuracy of a trained model drops to chance with --lr 0: nothing of
# the old weights is left), and trains from there like any net
fr() { "$P" train "$T/d.csv" --shape 1x4x4 --from "$T/m.petri" --fresh --batch 16 --no-augment --json "$@" 2> "$T/e"; }
acc() { sed 's/.*"test_acc": \([0-9.]*\).*/\1/'; }
a0=$(fr --epoch-frac 0.05 --lr 0 --seed 4 | acc); a0b=$(fr --epoch-frac 0.05 --lr 0 --seed 4 | acc)
awk "BEGIN { exit !($a0 < 0.6) }" && ok "train --fresh --lr 0: the old weights are gone (test_acc $a0)" || bad "--fresh kept the weights? test_acc $a0 $(cat "$T/e")"
[ -n "$a0" ] && [ "$a0" = "$a0b" ] && ok "train --fresh: the same seed draws the same weights" || bad "--fresh not reproducible: $a0 vs $a0b"
a1=$(fr --epochs 8 --lr 0.1 -o "$T/mf.petri" | acc)
awk "BEGIN { exit !($a1 > 0.9) }" && ok "train --fresh --epochs 8 learns again (test_acc $a1)" || bad "--fresh training: $a1 $(cat "$T/e")"
p0=$("$P" inspect "$T/m.petri" | grep -o 'cost: [0-9]* params, [0-9.]* M mult-adds'); p1=$("$P" inspect "$T/mf.petri" | grep -o 'cost: [0-9]* params, [0-9.]* M mult-adds')
[ -n "$p0" ] && [ "$p0" = "$p1" ] && ok "train --fresh keeps the architecture ($p1)" || bad "--fresh architecture: $p0 vs $p1"
"$P" inspect "$T/mf.petri" --json | grep -q '"epochs": 8[,.}]' && ok "train --fresh counts only the new epochs" \
  || bad "--fresh epochs: $("$P" inspect "$T/mf.petri" --json | grep -o '"epochs": [^,]*')"
expect_fail "--fresh without --from" "needs --from" "$P" train "$T/d.csv" --shape 1x4x4 --fresh --epochs 1
expect_fail "grow --from" "option of train" "$P" grow "$T/m.petri" "$T/d.csv" --shape 1x4x4 --from "$T/m.petri"
# bad input: clear message, non-zero exit
printf "garbage, not a model at all" > "$T/junk.petri"
head -c 200 "$T/m.petri" > "$T/trunc.petri"
expect_fail "missing data" "cannot open" "$P" train "$T/nope.csv"
expect_fail "missing model" "cannot open" "$P" inspect "$T/nope.petri"
expect_fail "wrong magic" "magic" "$P" inspect "$T/junk.petri"
expect_fail "truncated model" "truncated" "$P" eval "$T/trunc.petri" "$T/d.csv" --shape 1x4x4
expect_fail "bad option" "unknown option" "$P" train --bogus
expect_fail "bad number" "not a whole number" "$P" train --epochs many
expect_fail "bad arch" "unknown --arch" "$P" train "$T/d.csv" --shape 1x4x4 --arch resnet999
expect_fail "bad shape" "shape" "$P" train "$T/d.csv" --shape 2x4x4
printf '1,0.5,x\n' > "$T/bad.csv"
expect_fail "bad csv cell" "not a number" "$P" train "$T/bad.csv"
expect_fail "unknown command" "unknown command" "$P" frobnicate

# one strict number parser
expect_fail "suffix overflow" "not a whole number" "$P" train --threads 18446744073709552k
expect_fail "hex option" "not a number" "$P" train --lr 0x1p-3
expect_fail "trailing text" "not a whole number" "$P" train --epochs 3x
expect_fail "budget 1e99m" "not a duration" "$P" search --budget 1e99m --dir "$T/nosearch"
expect_fail "budget inf" "not a duration" "$P" search --budget inf --dir "$T/nosearch"
[ ! -e "$T/nosearch" ] && ok "a refused search creates nothing" || bad "a refused search created $T/nosearch"

# small and odd data sets
head -1 "$T/d.csv" > "$T/one.csv"
expect_fail "1-row data set" "too few for a validation split" "$P" train "$T/one.csv" --shape 1x4x4
expect_fail "--epochs with --epoch-frac" "exclude each other" "$P" train "$T/d.csv" --shape 1x4x4 --epochs 1 --epoch-frac 0.5
# 10 rows: read as a header, the first would leave 9, too few for a split
{ printf '\357\273\277'; head -10 "$T/d.csv"; } > "$T/bom.csv"
if "$P" train "$T/bom.csv" --shape 1x4x4 --arch mlp --epochs 1 --batch 4 --json > "$T/bom.json" 2> "$T/e" &&
   grep -q '"params"' "$T/bom.json"; then ok "a UTF-8 byte order mark is skipped"; else bad "BOM: $(cat "$T/e")"; fi

# strict inputs
mkfifo "$T/fifo"
expect_fail "a pipe as a model" "not a regular file" timeout 10 "$P" inspect "$T/fifo"
expect_fail "a directory as a model" "not a regular file" "$P" inspect "$T"
printf '0,0x10,1\n1,1,2\n' > "$T/hex.csv"
expect_fail "hex cell" "not a number: '0x10'" "$P" train "$T/hex.csv"
printf '0,1,1\n1,inf,2\n' > "$T/inf.csv"
expect_fail "inf cell" "not a number: 'inf'" "$P" train "$T/inf.csv"
printf '0,1,1\n99999,1,2\n' > "$T/lab.csv"
expect_fail "label past the class limit" "not a class number (0 to 999)" "$P" train "$T/lab.csv"
gzip -c "$T/d.csv" | head -c 600 > "$T/cut.csv.gz"
expect_fail "truncated gzip" "truncated gzip" "$P" train "$T/cut.csv.gz" --shape 1x4x4

# outputs never destroy inputs
cp "$T/d.csv" "$T/keep.csv"; cp "$T/m.petri" "$T/keep.petri"
expect_fail "train -o its data" "refusing to write" "$P" train "$T/d.csv" --shape 1x4x4 --epochs 1 -o "$T/d.csv"
expect_fail "train -o its --from" "refusing to write" "$P" train "$T/d.csv" --shape 1x4x4 --from "$T/m.petri" --epochs 1 -o "$T/m.petri"
expect_fail "predict -o its model" "refusing to write" "$P" predict "$T/m.petri" "$T/d.csv" --shape 1x4x4 -o "$T/m.petri"
expect_fail "grow -o its parent" "refusing to write" "$P" grow "$T/m.petri" "$T/d.csv" --shape 1x4x4 -o "$T/m.petri"
expect_fail "-o a directory" "is a directory" "$P" train "$T/d.csv" --shape 1x4x4 --epochs 1 -o "$T"
cmp -s "$T/d.csv" "$T/keep.csv" && cmp -s "$T/m.petri" "$T/keep.petri" && ok "inputs unchanged" || bad "an input was changed"
# standard output that cannot be written is a failure
"$P" inspect "$T/m.petri" --json > /dev/full 2> "$T/e"; rc=$?
[ $rc -ne 0 ] && grep -q "standard output" "$T/e" && ok "full stdout: exit $rc" || bad "full stdout: exit $rc, $(cat "$T/e")"

# one input convention: the same images as IDX bytes and as CSV bytes give
# the same inputs once the scale is explicit (IDX 1/255, CSV 1 by default),
# the model records its scale, and data given to it gets that scale
mkdir -p "$T/idx"
perl -e 'srand(5); for my $s (["train", 300, "b.csv"], ["t10k", 90, "b.test.csv"]) {
  my ($pre, $n, $csv) = @$s; my $d = $ARGV[0];
  open(my $I, ">", "$d/idx/$pre-images-idx3-ubyte"); open(my $L, ">", "$d/idx/$pre-labels-idx1-ubyte");
  open(my $C, ">", "$d/$csv"); print $I pack("NNNN", 0x803, $n, 4, 4); print $L pack("NN", 0x801, $n);
  for my $i (0 .. $n - 1) { my $c = $i % 3; my @px;
    for my $r (0 .. 3) { for my $q (0 .. 3) { my $v = int(rand(50));
      $v += 200 if ($c == 0 && $r == 0) || ($c == 1 && $q == 0) || ($c == 2 && $r > 1 && $q > 1); push @px, $v } }
    print $I pack("C*", @px); print $L pack("C", $c); print $C join(",", $c, @px), "\n" } }' "$T"
s="--arch cnn-small --epochs 2 --batch 16 --no-augment --quiet --threads 1"
"$P" train "$T/idx" $s -o "$T/i.petri" > /dev/null 2> "$T/e" || bad "train on IDX: $(cat "$T/e")"
"$P" train "$T/b.csv" --shape 1x4x4 --input-scale 1/255 $s -o "$T/c.petri" > /dev/null 2> "$T/e" || bad "train on CSV: $(cat "$T/e")"
"$P" train "$T/b.csv" --shape 1x4x4 $s -o "$T/raw.petri" > /dev/null 2> "$T/e" || bad "train on raw CSV: $(cat "$T/e")"
"$P" predict "$T/i.petri" "$T/idx" -o "$T/p.idx" 2> "$T/e" || bad "predict on IDX: $(cat "$T/e")"
"$P" predict "$T/c.petri" "$T/idx" -o "$T/p.csvmodel" 2> "$T/e" || bad "predict with the CSV model: $(cat "$T/e")"
cmp -s "$T/p.idx" "$T/p.csvmodel" && ok "IDX and CSV --input-scale 1/255: the same model" || bad "IDX and CSV models differ"
"$P" predict "$T/i.petri" "$T/b.csv" --shape 1x4x4 -o "$T/p.csv" 2> "$T/e" && [ ! -s "$T/e" ] || bad "predict on CSV: $(cat "$T/e")"
cmp -s "$T/p.idx" "$T/p.csv" && ok "a model's scale reaches CSV data: the same logits as on IDX" || bad "IDX and CSV logits differ"
"$P" predict "$T/i.petri" "$T/b.csv" --shape 1x4x4 --input-scale 1/255 -o "$T/p.csv2" 2> "$T/e" && cmp -s "$T/p.idx" "$T/p.csv2" \
  && ok "--input-scale 1/255 on CSV: the same logits as IDX" || bad "--input-scale 1/255 on CSV: $(cat "$T/e")"
"$P" predict "$T/i.petri" "$T/b.csv" --shape 1x4x4 --input-scale 1 -o "$T/p.csv3" 2> "$T/e" && grep -q "trained with --input-scale 1/255" "$T/e" \
  && ! cmp -s "$T/p.idx" "$T/p.csv3" && ok "another --input-scale than the model's: used, with a warning" || bad "--input-scale 1 on the IDX model: $(cat "$T/e")"
sc() { "$P" inspect "$1" --json | sed 's/.*"input_scale": \([^,]*\),.*/\1/'; }
[ "$(sc "$T/i.petri")" = 0.0039215686274509803 ] && [ "$(sc "$T/c.petri")" = 0.0039215686274509803 ] && [ "$(sc "$T/raw.petri")" = 1 ] \
  && ok "the model records its input scale (IDX 1/255, CSV 1)" || bad "input_scale: $(sc "$T/i.petri") $(sc "$T/c.petri") $(sc "$T/raw.petri")"
"$P" inspect "$T/raw.petri" | head -1 | grep -q "values times 1)" && ok "inspect names the scale" || bad "inspect: $("$P" inspect "$T/raw.petri" | head -1)"
"$P" train "$T/b.csv" --shape 1x4x4 --from "$T/i.petri" --epochs 1 --batch 16 --quiet -o "$T/i2.petri" > /dev/null 2> "$T/e" \
  && [ "$(sc "$T/i2.petri")" = 0.0039215686274509803 ] && ok "train --from keeps the model's scale" || bad "train --from: $(sc "$T/i2.petri") $(cat "$T/e")"
expect_fail "--input-scale 0" "not a number or a ratio" "$P" train "$T/b.csv" --input-scale 0
expect_fail "--input-scale 1/0" "not a number or a ratio" "$P" eval "$T/i.petri" --input-scale 1/0
expect_fail "--input-scale inf" "not a number or a ratio" "$P" predict "$T/i.petri" --input-scale inf
printf '0,1e30,1\n1,1,2\n' > "$T/big.csv"
expect_fail "a value times the scale past float range" "out of float range" "$P" train "$T/big.csv" --input-scale 1e12 --val 0
printf '0,1e39,1\n1,1,2\n' > "$T/big2.csv"
expect_fail "a value past float range" "out of float range" "$P" train "$T/big2.csv" --val 0

# the command table: every command answers --help, -h and 'petri help CMD'
# (exit 0, its synopsis), and refuses an unknown option (exit 2)
"$P" help > "$T/help" 2> "$T/e" && grep -q "^commands:" "$T/help" && ok "petri help" || bad "petri help: $(cat "$T/e")"
cmds=$(sed -n '/^commands:/,/^$/p' "$T/help" | awk 'NF > 1 && $1 != "help" && $1 != "commands:" { print $1 }')
[ "$(echo $cmds | wc -w)" -ge 13 ] && ok "petri help lists $(echo $cmds | wc -w) commands" || bad "petri help lists: $cmds"
for c in $cmds; do
  "$P" "$c" --help > "$T/h1" 2> "$T/e"; rc=$?
  [ $rc -eq 0 ] && grep -q "^usage: petri $c" "$T/h1" && grep -q -- "-h, --help" "$T/h1" && [ ! -s "$T/e" ] \
    && ok "$c --help" || bad "$c --help: exit $rc, $(cat "$T/e")"
  "$P" "$c" -h > "$T/h2" 2>&1 && cmp -s "$T/h1" "$T/h2" && ok "$c -h" || bad "$c -h"
  "$P" help "$c" > "$T/h3" 2>&1 && cmp -s "$T/h1" "$T/h3" && ok "help $c" || bad "help $c"
  "$P" "$c" --no-such-option > "$T/o" 2> "$T/e"; rc=$?
  [ $rc -eq 2 ] && grep -q "unknown option --no-such-option" "$T/e" && ok "$c: unknown option exits 2" \
    || bad "$c --no-such-option: exit $rc, $(cat "$T/e")"
done
# --help wins over the other arguments, but not as the value of an option
"$P" train --epochs many --help > "$T/o" 2>&1 && grep -q "^usage: petri train" "$T/o" && ok "--help after a bad value" || bad "--help after a bad value"
expect_fail "--help as the value of --dir" "--help: no daemon" env -C "$T" "$P" stop --dir --help
"$P" > "$T/o" 2> "$T/e"; rc=$?
[ $rc -eq 2 ] && grep -q "^commands:" "$T/e" && ok "no command: the list, exit 2" || bad "no command: exit $rc"
expect_fail "help for an unknown command" "unknown command 'frobnicate'" "$P" help frobnicate
expect_fail "an option without its value" "option --dir needs a value" "$P" status --dir
"$P" version > "$T/o" && grep -q "^petri " "$T/o" && ok "version" || bad "version"
"$P" version --json | grep -q '"version": ' && ok "version --json" || bad "version --json"

finish cli
