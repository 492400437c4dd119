#!/bin/sh
# test_hostile.sh PETRI MKEXP - hostile inputs and damaged stores, replayed
# as a table. Each row: an id, a setup (shell code preparing the case
# directory $X), the expected exit code, a fragment expected on standard
# error (grep -i pattern), the files that must be unchanged afterwards, the
# command, and an optional extra check. A row fails when the command hangs
# (timeout), dies by a signal, exits with another code, says something else,
# or changes a file it must not.
#
# In a command, setup or check: $P petri, $M mkexp, $X the case directory
# (a fresh one per row), $D a copy of the CSV data set ($X/d.csv), $MOD a
# copy of a trained model ($X/m.petri), $E the experiment (after fx_exp or
# a damaged variant: a copy of a small finished search), $OUT and $ERR the
# command's standard output and error.
#
# PENDING rows wait for work on other parts of the store and model files;
# they are run and reported ("pending") but do not fail the test. Empty a
# list once that work has landed; a pending row that passes is reported so.
set -u
P="$1"
M="$2"
. "$(dirname "$0")/lib.sh"
TO=${PETRI_HOSTILE_TIMEOUT:-10} # seconds before a command counts as hung

# rows that wait for a fix elsewhere (none today); a row listed here that
# passes is reported, so the list is emptied as fixes land
PENDING_STORE=""
PENDING_SUM=""
PENDING_OPEN=""
PENDING="$PENDING_STORE $PENDING_SUM $PENDING_OPEN"
why_pending() {
  case " $(echo $PENDING_STORE) " in *" $1 "*) echo "damaged-store checks (verify, header check)"; return;; esac
  case " $(echo $PENDING_SUM) " in *" $1 "*) echo "checksums on records and model files"; return;; esac
  echo "a fix outside the command line (see PENDING_OPEN)"
}
command -v python3 > /dev/null 2>&1 && PY=1 || PY=0

# ---- fixtures, built once ----
B="$T/base"
mkdir -p "$B"
awk 'BEGIN { srand(7); for (i = 0; i < 600; i++) { c = i % 3; printf "%d", c;
  for (r = 0; r < 8; r++) for (q = 0; q < 8; q++) { v = rand() * 0.3;
    if (c == 0 && r < 3) v += 0.5; if (c == 1 && q < 3) v += 0.5; if (c == 2 && r > 4 && q > 4) v += 0.5;
    printf ",%.3f", v } printf "\n" } }' > "$B/d.csv"
"$P" train "$B/d.csv" --shape 1x8x8 --arch mlp --epochs 1 --batch 32 --quiet -o "$B/m.petri" > /dev/null 2> "$T/e" ||
  { echo "FAIL fixture: train: $(cat "$T/e")"; exit 1; }
# a finished search whose store is larger than 1 MB (for the 1 MB cut)
"$P" search "$B/d.csv" --shape 1x8x8 --dir "$B/exp" --jobs 16 --workers 1 --filters 24 --stages 2 --seed-epochs 1 \
  --cand-epochs 0.2 --child-epochs 0.2 --batch 64 --quiet > /dev/null 2> "$T/e" ||
  { echo "FAIL fixture: search: $(cat "$T/e")"; exit 1; }
SZ=$(wc -c < "$B/exp/data.mdb")
CUT=1048576
[ "$SZ" -gt $CUT ] || { CUT=$((SZ / 2)); echo "note: store is $SZ bytes; the 1 MB cut keeps half ($CUT)"; }
# the model pick answers with, as a file: its weights locate its record in the store
BEST=$("$P" pick --dir "$B/exp" --json 2> /dev/null | sed -n 's/.*"id": "\(m[0-9]*\)".*/\1/p' | head -1)
"$P" export "$BEST" --dir "$B/exp" -o "$B/best.petri" > /dev/null 2>&1 || { echo "FAIL fixture: export $BEST"; exit 1; }
echo "fixtures: store $SZ bytes, best model $BEST"

# setups: each starts from a fresh $X holding d.csv and m.petri
fx_exp() { cp -r "$B/exp" "$E"; }
fx_cut() { fx_exp; head -c "$1" "$B/exp/data.mdb" > "$E/data.mdb"; }
# flip N bytes spread evenly over FILE, past its first SKIP bytes
flip() {
  awk -v n="$2" -v s="$3" -v z="$(wc -c < "$1")" 'BEGIN { for (i = 0; i < n; i++) print int(s + (z - s) * (i + 0.5) / n) }' |
  while read -r fl_pos; do
    # complement the byte (always a change)
    fl_b=$(od -An -tu1 -j "$fl_pos" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((255 - fl_b)))" | dd of="$1" bs=1 seek="$fl_pos" conv=notrunc 2> /dev/null
  done
}
# flip bytes of the weights of $B/best.petri wherever they stand in FILE
flip_record() {
  python3 - "$B/best.petri" "$1" << 'EOF'
import sys
m = open(sys.argv[1], 'rb').read(); f = bytearray(open(sys.argv[2], 'rb').read())
w = m[len(m) // 2:len(m) // 2 + 32]
at, n = f.find(w), 0
while at >= 0:
    for k in range(0, 32, 4): f[at + k] ^= 0x40
    n += 1; at = f.find(w, at + 32)
open(sys.argv[2], 'wb').write(f)
sys.exit(0 if n else 1)
EOF
}
fx_flip() { fx_exp; flip "$E/data.mdb" 50 8192; }
fx_rec() { fx_exp; flip_record "$E/data.mdb"; }
fx_fifo() { mkfifo "$X/$1"; }
# a small full tmpfs at $X/full (root only); skips the row otherwise
fx_full() {
  mkdir -p "$X/full"
  [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64k tmpfs "$X/full" 2> /dev/null || { SKIP="cannot mount a small tmpfs"; return; }
  UNDO="umount $X/full"
  [ $# -gt 0 ] && printf 'what was here before\n' > "$X/full/$1"
  dd if=/dev/zero of="$X/full/fill" bs=4k 2> /dev/null || :
}
# a search daemon running on $E until the row ends
fx_running() {
  fx_exp
  "$P" search --dir "$E" --jobs 1000000 --quiet > /dev/null 2>&1 &
  DPID=$!
  UNDO="\"$P\" stop --dir \"$E\" > /dev/null 2>&1; wait $DPID"
  i=0; while [ ! -S "$E/control" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -S "$E/control" ] || SKIP="the daemon did not start"
}
# checks
json_ok() { [ $PY = 0 ] || python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' "$1" 2> /dev/null; }
absent() { [ ! -e "$1" ]; }

# the state of a file: its checksum, its kind, or absent
sig() {
  if [ -f "$1" ] && [ ! -L "$1" ]; then cksum < "$1"
  elif [ -L "$1" ]; then echo "link $(readlink "$1")"
  elif [ -p "$1" ]; then echo fifo
  elif [ -d "$1" ]; then echo "dir $(ls -A "$1" | tr '\n' ' ')"
  elif [ -e "$1" ]; then echo other
  else echo absent; fi
}

npass=0; nfail=0; npend=0; nskip=0; pend_ok=""; failed=""
# row ID SETUP RC PATTERN KEEP COMMAND [CHECK]
row() {
  id=$1; setup=$2; want=$3; pat=$4; keep=$5; cmd=$6; check=${7:-}
  X="$T/c/$id"; E="$X/e"; D="$X/d.csv"; MOD="$X/m.petri"; OUT="$X.out"; ERR="$X.err"
  export P M B X E D MOD OUT ERR
  mkdir -p "$X"
  cp "$B/d.csv" "$B/m.petri" "$X/"
  SKIP=""; UNDO=""
  eval "$setup" > /dev/null 2>&1 || [ -n "$SKIP" ] || SKIP="setup failed: $setup"
  if [ -n "$SKIP" ]; then
    echo "skip $id: $SKIP"; nskip=$((nskip + 1))
    [ -n "$UNDO" ] && eval "$UNDO" > /dev/null 2>&1
    return
  fi
  before=""
  for f in $(eval "echo $keep"); do before="$before|$(sig "$f")"; done
  (cd "$X" && timeout -k 5 "$TO" sh -c "$cmd" > "$OUT" 2> "$ERR"); rc=$?
  why=""
  if [ $rc -eq 124 ]; then why="hung (no answer in ${TO}s)"
  elif [ $rc -ge 128 ]; then why="killed by signal $((rc - 128))"
  elif [ $rc -ne "$want" ]; then why="exit $rc, expected $want"
  elif [ -n "$pat" ] && ! grep -qi -- "$pat" "$ERR"; then why="stderr lacks '$pat'"
  fi
  after=""
  for f in $(eval "echo $keep"); do after="$after|$(sig "$f")"; done
  [ -z "$why" ] && [ "$before" != "$after" ] && why="changed: $keep"
  [ -z "$why" ] && [ -n "$check" ] && ! (eval "$check") > /dev/null 2>&1 && why="check failed: $check"
  [ -n "$UNDO" ] && eval "$UNDO" > /dev/null 2>&1
  msg=$(head -c 200 "$ERR" | tr '\n' ' ')
  case " $(echo $PENDING) " in
  *" $id "*)
    if [ -z "$why" ]; then
      echo "ok   $id (pending, but passes now: drop it from the list)"; npass=$((npass + 1)); pend_ok="$pend_ok $id"
    else
      echo "pending $id: $why; expected to pass once $(why_pending "$id") lands"; npend=$((npend + 1))
    fi;;
  *)
    if [ -z "$why" ]; then echo "ok   $id (exit $rc)"; npass=$((npass + 1))
    else echo "FAIL $id: $why"; echo "     \$ $cmd"; echo "     stderr: $msg"; nfail=$((nfail + 1)); failed="$failed $id"; fi;;
  esac
}

STORE='$E/data.mdb'
BAD='damaged\|corrupt'

# ---- crash on a damaged store ----
for d in "s8k:fx_cut 8192" "s1m:fx_cut $CUT" "flip:fx_flip"; do
  n=${d%%:*}; s=${d#*:}
  if [ $n = flip ]; then
    # the flipped bytes land mostly in model records, which status and
    # frontier do not read (they read summaries, config and the frontier):
    # they answer, or, where a byte lands in what they read, refuse naming
    # the damage (which one depends on the store's layout); petri verify
    # names the damage
    row $n-status "$s" 0 "" "$STORE" '"$P" status --dir "$E" || grep -q "damaged\|corrupt" "$ERR"' \
      '! "$P" verify --dir "$E"'
    row $n-frontier "$s" 0 "" "$STORE" '"$P" frontier --dir "$E" || grep -q "damaged\|corrupt" "$ERR"' \
      '"$P" verify --dir "$E" 2>&1 | grep -q "$BAD"'
  else
    row $n-status "$s" 1 "$BAD" "$STORE" '"$P" status --dir "$E"'
    row $n-frontier "$s" 1 "$BAD" "$STORE" '"$P" frontier --dir "$E"'
  fi
  row $n-pick "$s" 1 "$BAD" "$STORE" '"$P" pick --dir "$E" -o "$X/p.petri"' 'absent "$X/p.petri"'
  row $n-export "$s" 1 "$BAD" "$STORE" '"$P" export m000001 --dir "$E" -o "$X/x.petri"' 'absent "$X/x.petri"'
  row $n-search "$s" 1 "$BAD" "$STORE" '"$P" search --dir "$E" --jobs 17 --quiet'
done
row zero-status 'fx_exp; : > "$E/data.mdb"' 1 "$BAD\|empty" "$STORE" '"$P" status --dir "$E"' '! grep -q "Bad file descriptor" "$ERR"'
row zero-pick 'fx_exp; : > "$E/data.mdb"' 1 "$BAD\|empty" "$STORE" '"$P" pick --dir "$E"' '! grep -q "Bad file descriptor" "$ERR"'
row zero-search 'fx_exp; : > "$E/data.mdb"' 1 "$BAD\|empty" "$STORE" '"$P" search --dir "$E" --jobs 17 --quiet'
for c in status pick search; do
  row fifo-$c 'fx_exp; rm "$E/data.mdb"; mkfifo "$E/data.mdb"' 1 "not a regular file\|not a store file" "$STORE" "\"\$P\" $c --dir \"\$E\""
done

# ---- silent corruption ----
row rec-pick fx_rec 1 "corrupt" "$STORE" '"$P" pick --dir "$E" -o "$X/p.petri"' 'absent "$X/p.petri"'
row rec-export fx_rec 1 "corrupt" "$STORE" "\"\$P\" export $BEST --dir \"\$E\" -o \"\$X/x.petri\"" 'absent "$X/x.petri"'
row rec-search fx_rec 1 "$BAD" "$STORE" '"$P" search --dir "$E" --jobs 17 --quiet'
MF='cp "$B/best.petri" "$X/f.petri"; flip "$X/f.petri" 8 $(($(wc -c < "$B/best.petri") / 2))'
row mf-inspect "$MF" 1 "corrupt\|checksum" '$X/f.petri' '"$P" inspect "$X/f.petri"'
row mf-eval "$MF" 1 "corrupt\|checksum" '$X/f.petri' '"$P" eval "$X/f.petri" "$D" --shape 1x8x8'
row mf-from "$MF" 1 "corrupt\|checksum" '$X/f.petri' '"$P" train "$D" --shape 1x8x8 --from "$X/f.petri" --epochs 1 -o "$X/o.petri"' 'absent "$X/o.petri"'

# ---- data destroyed: outputs over the store or over inputs ----
REF="refusing to write"
row dd-pick-store fx_exp 2 "$REF" "$STORE" '"$P" pick --dir "$E" -o "$E/data.mdb"'
row dd-pick-lock fx_exp 2 "$REF" '$E/data.mdb $E/lock.mdb' '"$P" pick --dir "$E" -o "$E/lock.mdb"'
row dd-pick-rel fx_exp 2 "$REF" "$STORE" 'cd "$E" && "$P" pick --dir . -o data.mdb'
row dd-pick-symlink 'fx_exp; ln -s "$E/data.mdb" "$X/l.petri"' 2 "$REF" '$E/data.mdb $X/l.petri' '"$P" pick --dir "$E" -o "$X/l.petri"'
row dd-pick-hardlink 'fx_exp; ln "$E/data.mdb" "$X/h.petri"' 2 "$REF" "$STORE" '"$P" pick --dir "$E" -o "$X/h.petri"'
row dd-svg-store fx_exp 2 "$REF" "$STORE" '"$P" frontier --dir "$E" --svg "$E/data.mdb"'
row dd-export-store fx_exp 2 "$REF" "$STORE" '"$P" export m000001 --dir "$E" -o "$E/data.mdb"'
row dd-export-lock fx_exp 2 "$REF" '$E/data.mdb $E/lock.mdb' '"$P" export m000001 --dir "$E" -o "$E/lock.mdb"'
row dd-train-data : 2 "$REF" '$D' '"$P" train "$D" --shape 1x8x8 --epochs 1 -o "$D"'
row dd-train-from : 2 "$REF" '$D $MOD' '"$P" train "$D" --shape 1x8x8 --from "$MOD" --epochs 1 -o "$MOD"'
row dd-predict-model : 2 "$REF" '$D $MOD' '"$P" predict "$MOD" "$D" --shape 1x8x8 -o "$MOD"'
row dd-predict-data : 2 "$REF" '$D $MOD' '"$P" predict "$MOD" "$D" --shape 1x8x8 -o "$D"'
row dd-grow-parent : 2 "$REF" '$D $MOD' '"$P" grow "$MOD" "$D" --shape 1x8x8 -o "$MOD"'
row dd-export-self : 2 "$REF" '$MOD' '"$P" export "$MOD" -o "$MOD"'
row dd-export-self-onnx 'cp "$B/m.petri" "$X/m.onnx"' 2 "$REF" '$X/m.onnx' '"$P" export "$X/m.onnx" -o "$X/m.onnx"'
row dd-out-dir : 2 "is a directory" '$D $MOD' '"$P" train "$D" --shape 1x8x8 --epochs 1 -o "$X"'
row dd-search-dir-is-data : 1 "not a directory" '$D' '"$P" search "$D" --shape 1x8x8 --dir "$D" --quiet'
# a full disk: a failed write leaves the file that was there
row dd-full-pick 'fx_exp; fx_full p.petri' 1 "no space" '$STORE $X/full/p.petri' '"$P" pick --dir "$E" -o "$X/full/p.petri"'
row dd-full-export 'fx_exp; fx_full x.onnx' 1 "no space" '$STORE $X/full/x.onnx' '"$P" export m000001 --dir "$E" -o "$X/full/x.onnx"'
row dd-full-svg 'fx_exp; fx_full f.svg' 1 "no space" '$STORE $X/full/f.svg' '"$P" frontier --dir "$E" --svg "$X/full/f.svg"'
row dd-full-predict 'fx_full p.csv' 1 "no space" '$D $MOD $X/full/p.csv' '"$P" predict "$MOD" "$D" --shape 1x8x8 -o "$X/full/p.csv"'
row dd-full-train 'fx_full m.petri' 1 "no space" '$D $X/full/m.petri' '"$P" train "$D" --shape 1x8x8 --arch mlp --epochs 1 --quiet -o "$X/full/m.petri"'

# ---- hangs: a FIFO where a file is expected ----
NREG="not a regular file"
row h-train-csv 'fx_fifo f.csv' 1 "$NREG" '' '"$P" train "$X/f.csv" --shape 1x8x8'
row h-train-gz 'fx_fifo f.csv.gz' 1 "$NREG" '' '"$P" train "$X/f.csv.gz" --shape 1x8x8'
row h-train-noext 'fx_fifo f' 1 "not a data set" '' '"$P" train "$X/f" --shape 1x8x8'
row h-eval-data 'fx_fifo f.csv' 1 "$NREG" '$MOD' '"$P" eval "$MOD" "$X/f.csv" --shape 1x8x8'
row h-idx 'mkdir "$X/idx"; mkfifo "$X/idx/train-images-idx3-ubyte" "$X/idx/train-labels-idx1-ubyte"' 1 "$NREG" '' '"$P" train "$X/idx"'
row h-search-data 'fx_fifo f.csv' 1 "$NREG" '$X/new' '"$P" search "$X/f.csv" --shape 1x8x8 --dir "$X/new" --quiet'
row h-inspect-model 'fx_fifo f.petri' 1 "$NREG" '' '"$P" inspect "$X/f.petri"'
row h-inspect-onnx 'fx_fifo f.onnx' 1 "$NREG" '' '"$P" inspect "$X/f.onnx"'
row h-eval-model 'fx_fifo f.petri' 1 "$NREG" '$D' '"$P" eval "$X/f.petri" "$D" --shape 1x8x8'
row h-train-from 'fx_fifo f.petri' 1 "$NREG" '$D' '"$P" train "$D" --shape 1x8x8 --from "$X/f.petri" -o "$X/o.petri"' 'absent "$X/o.petri"'
row h-export-model 'fx_fifo f.petri' 1 "$NREG" '' '"$P" export "$X/f.petri" -o "$X/o.petri"' 'absent "$X/o.petri"'
row h-search-from 'fx_fifo f.petri' 1 "$NREG" '$X/new' '"$P" search "$D" --shape 1x8x8 --from "$X/f.petri" --dir "$X/new"'
row h-grow-parent 'fx_fifo f.petri' 1 "$NREG" '$D' '"$P" grow "$X/f.petri" "$D" --shape 1x8x8 -o "$X/o.petri"'

# ---- exit codes after failures ----
SO="standard output"
row x-full-inspect : 1 "$SO" '$MOD' '"$P" inspect "$MOD" --json > /dev/full'
row x-full-eval : 1 "$SO" '$MOD' '"$P" eval "$MOD" "$D" --shape 1x8x8 > /dev/full'
row x-full-predict : 1 "$SO" '$MOD' '"$P" predict "$MOD" "$D" --shape 1x8x8 > /dev/full'
row x-full-train : 1 "$SO" '$D' '"$P" train "$D" --shape 1x8x8 --arch mlp --epochs 1 --quiet > /dev/full'
row x-full-status fx_exp 1 "$SO" "$STORE" '"$P" status --dir "$E" > /dev/full'
row x-full-frontier fx_exp 1 "$SO" "$STORE" '"$P" frontier --dir "$E" --json > /dev/full'
row x-full-pick fx_exp 1 "$SO" "$STORE" '"$P" pick --dir "$E" > /dev/full'
row x-full-version : 1 "$SO" '' '"$P" version > /dev/full'
row x-full-help : 1 "$SO" '' '"$P" help train > /dev/full'
row x-full-disk-search 'fx_full' 1 "full\|no space" '' '"$P" search "$D" --shape 1x8x8 --dir "$X/full/e" --jobs 30 --workers 1 --quiet'
row x-export-unknown fx_exp 1 "no model 'm999999'" "$STORE" '"$P" export m999999 --dir "$E" -o "$X/x.petri"' 'absent "$X/x.petri"'
row x-pick-nofit fx_exp 3 "no model" "$STORE" '"$P" pick --dir "$E" --max-macs 1'
row x-stop-nodaemon fx_exp 1 "no daemon" "$STORE" '"$P" stop --dir "$E"'

# ---- invalid JSON ----
HUGE='awk "BEGIN { for (i = 0; i < 60; i++) { printf \"%d\", i % 3; for (j = 0; j < 64; j++) printf \",%s\", (j % 2 ? \"3e38\" : \"-3e38\"); printf \"\\n\" } }" > "$X/huge.csv"'
row j-eval-huge "$HUGE" 0 "" '$MOD' '"$P" eval "$MOD" "$X/huge.csv" --shape 1x8x8 --json' 'json_ok "$OUT"'
row j-val0 : 0 "" '$D' '"$P" train "$D" --shape 1x8x8 --arch mlp --epochs 1 --val 0 --quiet --json' \
  'json_ok "$OUT" && grep -q "\"val_acc\": null" "$OUT"'
row j-val0-text : 0 "" '$D' '"$P" train "$D" --shape 1x8x8 --arch mlp --epochs 1 --val 0 --quiet' \
  '! grep -q "val accuracy 0.00%" "$OUT" && grep -q "no validation" "$OUT"'
row j-nonutf8-path : 0 "" '$D' '"$P" train "$D" --shape 1x8x8 --arch mlp --epochs 1 --quiet --json -o "$(printf "$X/\\377.petri")"' 'json_ok "$OUT"'
row j-status fx_exp 0 "" "$STORE" '"$P" status --dir "$E" --json' 'json_ok "$OUT"'
row j-frontier fx_exp 0 "" "$STORE" '"$P" frontier --dir "$E" --all --json' 'json_ok "$OUT"'
row j-pick-nofit fx_exp 3 "" "$STORE" '"$P" pick --dir "$E" --max-macs 1 --json' 'json_ok "$OUT"'
row j-inspect : 0 "" '$MOD' '"$P" inspect "$MOD" --json' 'json_ok "$OUT"'

# ---- accepted silently: options ----
NW="not a whole number"
row a-threads-overflow : 2 "$NW" '' '"$P" train --threads 18446744073709552k'
row a-budget-1e99m : 2 "not a duration" '$X/new' '"$P" search "$D" --budget 1e99m --dir "$X/new"'
row a-budget-inf : 2 "not a duration" '$X/new' '"$P" search "$D" --budget inf --dir "$X/new"'
row a-budget-nan : 2 "not a duration" '$X/new' '"$P" search "$D" --budget nan --dir "$X/new"'
row a-budget-neg : 2 "not a duration" '$X/new' '"$P" search "$D" --budget -5m --dir "$X/new"'
row a-budget-hex : 2 "not a duration" '$X/new' '"$P" search "$D" --budget 0x10m --dir "$X/new"'
row a-epochs-frac : 2 "exclude each other" '' '"$P" train "$D" --shape 1x8x8 --epochs 1 --epoch-frac 0.5'
row a-epochs-neg : 2 "$NW" '' '"$P" train "$D" --shape 1x8x8 --epochs -1'
row a-epochs-fraction : 2 "$NW" '' '"$P" train "$D" --shape 1x8x8 --epochs 1.5'
row a-lr-nan : 2 "not a number" '' '"$P" train "$D" --shape 1x8x8 --lr nan'
row a-lr-inf : 2 "not a number" '' '"$P" train "$D" --shape 1x8x8 --lr inf'
row a-lr-hex : 2 "not a number" '' '"$P" train "$D" --shape 1x8x8 --lr 0x1p-3'
row a-batch-zero : 2 "$NW" '' '"$P" train "$D" --shape 1x8x8 --batch 0'
row a-val-all : 2 "leaves no training rows" '' '"$P" train "$D" --shape 1x8x8 --val 600'
row a-rows-zero : 2 "$NW" '$MOD' '"$P" predict "$MOD" "$D" --shape 1x8x8 --rows 0'
row a-pick-neg fx_exp 2 "$NW" "$STORE" '"$P" pick --dir "$E" --max-params -5'
row a-pick-nan fx_exp 2 "not a positive number" "$STORE" '"$P" pick --dir "$E" --max-latency-ms nan'
row a-pick-inf fx_exp 2 "not a positive number" "$STORE" '"$P" pick --dir "$E" --max-mflops inf'
row a-pick-1e99 fx_exp 2 "$NW" "$STORE" '"$P" pick --dir "$E" --max-memory 1e99'
row a-pick-trailing fx_exp 2 "$NW" "$STORE" '"$P" pick --dir "$E" --max-params 5kk'
row a-search-jobs-fraction fx_exp 2 "$NW" "$STORE" '"$P" search --dir "$E" --jobs 2.5'
row a-search-workers-fraction : 2 "$NW" '$X/new' '"$P" search "$D" --shape 1x8x8 --dir "$X/new" --workers 1.5'
row a-search-batch-fraction : 2 "$NW" '$X/new' '"$P" search "$D" --shape 1x8x8 --dir "$X/new" --batch 32.5'
row a-search-jobs-zero : 2 "" '$X/new' '"$P" search "$D" --shape 1x8x8 --dir "$X/new" --jobs 0'
row a-search-lr-nan : 2 "not a number" '$X/new' '"$P" search "$D" --shape 1x8x8 --dir "$X/new" --lr nan'
row a-search-extra : 2 "is extra" '$X/new' '"$P" search "$D" "$D" --dir "$X/new"'
row a-search-ops : 2 "unknown op" '$X/new' '"$P" search "$D" --dir "$X/new" --ops conv3x3,frobnicate'

# ---- accepted silently: data sets ----
csv() { printf -- "$1" > "$X/t.csv"; }
row a-gz-cut 'gzip -c "$D" | head -c 600 > "$X/cut.csv.gz"' 1 "truncated gzip" '$X/cut.csv.gz' '"$P" train "$X/cut.csv.gz" --shape 1x8x8'
row a-bom '{ printf "\357\273\277"; head -20 "$D"; } > "$X/bom.csv"' 0 "18 train / 2 val" '$X/bom.csv' '"$P" train "$X/bom.csv" --shape 1x8x8 --arch mlp --epochs 1 --batch 4'
row a-label-99999 'csv "0,1,1\n99999,1,2\n"' 1 "not a class number (0 to 999)" '$X/t.csv' '"$P" train "$X/t.csv"'
row a-label-neg 'csv "-1,1,1\n1,1,2\n"' 1 "not a class number" '' '"$P" train "$X/t.csv"'
row a-label-frac 'csv "1.5,1,1\n1,1,2\n"' 1 "not a class number" '' '"$P" train "$X/t.csv"'
row a-label-hex 'csv "1,1,1\n0x1,1,2\n"' 1 "not a number: '0x1'" '' '"$P" train "$X/t.csv"'
row a-label-gap 'awk "BEGIN { for (i = 0; i < 60; i++) print (i % 2) * 5 \",1,2\" }" > "$X/t.csv"' 1 "class" '' '"$P" train "$X/t.csv" --arch mlp --epochs 1'
row a-one-row 'head -1 "$D" > "$X/t.csv"' 2 "too few for a validation split" '' '"$P" train "$X/t.csv" --shape 1x8x8'
row a-inf-cell 'csv "0,1,1\n1,inf,2\n"' 1 "not a number: 'inf'" '' '"$P" train "$X/t.csv"'
row a-neginf-cell 'csv "0,1,1\n1,-inf,2\n"' 1 "not a number: '-inf'" '' '"$P" train "$X/t.csv"'
row a-nan-cell 'csv "0,nan,1\n1,1,2\n"' 1 "not a number: 'nan'" '' '"$P" train "$X/t.csv"'
row a-overflow-cell 'csv "0,1e999,1\n1,1,2\n"' 1 "not a number: '1e999'" '' '"$P" train "$X/t.csv"'
row a-hex-cell 'csv "0,0x10,1\n1,1,2\n"' 1 "not a number: '0x10'" '' '"$P" train "$X/t.csv"'
row a-empty-cell 'csv "0,,1\n1,1,2\n"' 1 "not a number\|empty" '' '"$P" train "$X/t.csv"'
row a-suffix-cell 'csv "0,1k,1\n1,1,2\n"' 1 "not a number: '1k'" '' '"$P" train "$X/t.csv"'
row a-nonutf8-cell 'csv "0,\377\376,1\n1,1,2\n"' 1 "cell 2 is not a number" '' '"$P" train "$X/t.csv"'
row a-ragged 'csv "0,1,2\n1,1\n"' 1 "earlier rows have 2" '' '"$P" train "$X/t.csv"'
row a-no-features 'csv "0\n1\n0\n1\n"' 1 "at least one feature" '' '"$P" train "$X/t.csv"'
row a-empty-csv 'csv ""' 1 "no data rows" '' '"$P" train "$X/t.csv" --shape 1x8x8'
row a-blank-csv 'csv "\n\n\n"' 1 "no data rows" '' '"$P" train "$X/t.csv"'
row a-empty-gz ': | gzip > "$X/t.csv.gz"' 1 "no data rows" '' '"$P" train "$X/t.csv.gz"'
row a-not-gzip 'printf "0,1,2\n" > "$X/t.csv.gz"; head -c 40 "$MOD" >> "$X/t.csv.gz"' 1 "" '' '"$P" train "$X/t.csv.gz"'
row a-shape-mismatch : 1 "shape 2x4x4 needs 32" '$D' '"$P" train "$D" --shape 2x4x4'
row a-shape-zero : 1 "bad shape" '$D' '"$P" train "$D" --shape 0x8x8'
row a-shape-neg : 1 "bad shape" '$D' '"$P" train "$D" --shape -1x8x8'
row a-eval-other-shape : 1 "" '$MOD $D' '"$P" eval "$MOD" "$D" --shape 2x4x8'
row a-search-bad-cell 'csv "0,nan,1\n1,1,2\n"' 1 "not a number" '$X/new' '"$P" search "$X/t.csv" --dir "$X/new" --quiet'
row a-search-missing-data : 1 "cannot open" '$X/new' '"$P" search "$X/nope.csv" --dir "$X/new" --quiet'
row a-search-bad-shape : 1 "needs 8" '$X/new' '"$P" search "$D" --shape 2x2x2 --dir "$X/new" --quiet'
row a-search-other-data 'fx_exp; head -100 "$D" > "$X/t.csv"' 1 "belongs to the data set" "$STORE" '"$P" search "$X/t.csv" --shape 1x8x8 --dir "$E" --quiet'
row a-search-other-shape fx_exp 1 "was made with --shape 1x8x8" "$STORE" '"$P" search "$B/d.csv" --shape 64 --dir "$E" --quiet'
row a-search-from-existing fx_exp 2 "only starts a new one" "$STORE" '"$P" search --from "$MOD" --dir "$E" --quiet'

# ---- false success ----
row f-detach-second fx_running 1 "already runs" '' '"$P" search --dir "$E" --detach'
row f-search-second fx_running 1 "another process" '' '"$P" search --dir "$E" --quiet'
row f-detach-held 'mkfifo "$X/hold"; ("$M" "$E" --pid $$ --hold < "$X/hold" > "$X/held" &); exec 3> "$X/hold"; UNDO="exec 3>&-"; i=0; while ! grep -q holding "$X/held" 2> /dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done' \
  1 "exited at start" '$E/data.mdb' '"$P" search --dir "$E" --detach'

# ---- unclear or wrong messages ----
row u-shape-huge : 1 "more than 16777216 features" '$D' '"$P" train "$D" --shape 99999x99999x99999' '! grep -q -- "needs -" "$ERR"'
row u-onnx-named 'cp "$B/m.petri" "$X/m.onnx"' 1 "petri model" '$X/m.onnx' '"$P" inspect "$X/m.onnx"'
row u-dir-model : 1 "not a regular file (a directory)" '' '"$P" inspect "$X"'
row u-dir-from : 1 "not a regular file (a directory)" '$D' '"$P" train "$D" --shape 1x8x8 --from "$X" -o "$X/o.petri"'
row u-empty-model ': > "$X/e.petri"' 1 "0 bytes is too short" '' '"$P" inspect "$X/e.petri"'
row u-empty-onnx ': > "$X/e.onnx"' 1 "" '' '"$P" inspect "$X/e.onnx"' '[ -s "$ERR" ]'
row u-junk-model 'printf "garbage, not a model at all" > "$X/j.petri"' 1 "magic" '' '"$P" inspect "$X/j.petri"'
row u-trunc-model 'head -c 200 "$B/m.petri" > "$X/t.petri"' 1 "truncated" '' '"$P" inspect "$X/t.petri"'
row u-idx-empty-dir 'mkdir "$X/idx"' 1 "no train-images-idx3-ubyte" '' '"$P" train "$X/idx"'
row u-no-store : 1 "no such experiment directory" '$X/none' '"$P" status --dir "$X/none"'
row u-store-file : 1 "not a petri experiment" '$D' '"$P" status --dir "$D"'
row u-empty-exp 'mkdir "$X/x"' 1 "no store" '$X/x' '"$P" pick --dir "$X/x"'
row u-export-path-id fx_exp 1 "no model '../../etc/passwd'" "$STORE" '"$P" export ../../etc/passwd --dir "$E" -o "$X/x.petri"' 'absent "$X/x.petri"'
row u-resume-cwd fx_exp 0 "" '' 'cd / && "$P" search --dir "$E" --quiet'
row u-missing-dir-opt : 2 "dir EXP is required" '' '"$P" pick'
row u-option-no-value : 2 "needs a value" '' '"$P" status --dir'
row u-unknown-option : 2 "unknown option --bogus" '' '"$P" train --bogus'
row u-unknown-command : 2 "unknown command" '' '"$P" frobnicate'

# ---- own: long paths ----
L=$(awk 'BEGIN { while (n++ < 300) printf "a" }')
LP="$L/$L/$L/$L/$L/$L/$L/$L/$L/$L/$L/$L/$L/$L/$L"
export LP L
row o-long-data : 2 "too long" '' '"$P" train "$X/$LP.csv"'
row o-long-dir : 2 "too long" '' '"$P" status --dir "$X/$LP"'
row o-long-search : 2 "too long" '$D' '"$P" search "$D" --dir "$X/$LP" --quiet'
row o-long-model : 2 "too long" '' '"$P" inspect "$X/$LP.petri"'
row o-long-out : 2 "too long" '$D' '"$P" train "$D" --shape 1x8x8 --arch mlp --epochs 1 --quiet -o "$X/$LP.petri"'
row o-name-too-long : 1 "name too long" '' '"$P" inspect "$X/$L.petri"'

echo "hostile: $npass passed, $nfail failed, $npend pending, $nskip skipped"
[ -n "$pend_ok" ] && echo "pending rows that pass now (drop them from PENDING):$pend_ok"
[ -n "$failed" ] && echo "failed:$failed"
[ $nfail -eq 0 ] && echo "all hostile tests passed" || echo "$nfail hostile test(s) failed"
[ $nfail -eq 0 ]
