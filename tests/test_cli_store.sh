#!/bin/sh
# test_cli_store.sh PETRI MKEXP - the commands that read an experiment
# (status, frontier, pick, export) on a synthetic experiment written by
# MKEXP (tests/mkexp.c): outputs, exit codes, clear errors, and that the
# store is never changed.
set -u
P="$1"
M="$2"
. "$(dirname "$0")/lib.sh"
trap 'exec 3>&- 2>/dev/null; rm -rf "$T"' EXIT
# check NAME COMMAND...: the command succeeds
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# run CODE OUT ERR COMMAND...: the command exits with CODE
run() {
  code=$1; o=$2; e=$3; shift 3
  "$@" > "$o" 2> "$e"; rc=$?
  [ "$rc" -eq "$code" ] || { echo "  exit $rc (expected $code): $*"; sed 's/^/  stderr: /' "$e" | head -5; return 1; }
}
# the ids of the "models" array, in order, on one line
ids() { grep -o '"id": "[^"]*"' "$1" | sed 's/"id": "\(.*\)"/\1/' | tr '\n' ' ' | sed 's/ $//'; }
# a top-level number or string field of a one-line JSON object
field() { grep -o "\"$2\": [^,}]*" "$1" | head -1 | sed "s/\"$2\": //; s/\"//g"; }

E="$T/exp"
"$M" "$E" > "$T/models" || { echo "FAIL mkexp"; exit 1; }
# the synthetic models: id macs params mem latency val test
col() { awk -v id="$1" -v c="$2" '$1 == id { print $c }' "$T/models"; }
[ "$(wc -l < "$T/models")" -eq 6 ] && ok "mkexp wrote 6 trained models" || bad "mkexp output: $(cat "$T/models")"
sum0=$(cksum < "$E/data.mdb")

# ---- status ----
if run 0 "$T/st" "$T/err" "$P" status --dir "$E"; then
  grep -q "running" "$T/st" && ok "status: state" || bad "status: state"
  grep -q "not running" "$T/st" && ok "status: a dead daemon pid is reported" || bad "status: pid liveness"
  grep -q "^candidate *1 *1 *1 *0$" "$T/st" && ok "status: candidate queue counts" || bad "status: candidate counts"
  grep -q "^child *1 *0 *0 *1$" "$T/st" && ok "status: child queue counts" || bad "status: child counts"
  grep -q "6 trained, 1 failed, 1 not trained" "$T/st" && ok "status: model counts" || bad "status: model counts"
  grep -q "best val acc 90.00%.*m000006" "$T/st" && ok "status: best model" || bad "status: best model"
  grep -q "6 points, 4 on the hull, 4 in the band" "$T/st" && ok "status: frontier size" || bad "status: frontier size"
  grep -q "synthetic experiment written" "$T/st" && ok "status: last events" || bad "status: events"
  grep -q "12m 34s of 1h 00m 00s" "$T/st" && ok "status: elapsed and budget" || bad "status: elapsed"
else bad "status"; fi
if run 0 "$T/st.json" "$T/err" "$P" status --dir "$E" --json; then
  [ "$(field "$T/st.json" state)" = running ] && ok "status --json: state" || bad "status --json: state"
  [ "$(field "$T/st.json" alive)" = false ] && ok "status --json: alive false" || bad "status --json: alive"
  grep -q '"candidate": {"queued": 1, "leased": 1, "done": 1, "failed": 0}' "$T/st.json" && ok "status --json: queues" || bad "status --json: queues"
  grep -q '"models": {"total": 8, "trained": 6, "failed": 1, "new": 1}' "$T/st.json" && ok "status --json: models" || bad "status --json: models"
  grep -q '"best": {"id": "m000006", "val_acc": 0.900000' "$T/st.json" && ok "status --json: best" || bad "status --json: best"
  grep -q "\"macs\": $(col m000006 2), \"params\": $(col m000006 3)" "$T/st.json" && ok "status --json: best costs" || bad "status --json: best costs"
  grep -q '"frontier": {"points": 6, "hull": 4, "band": 4' "$T/st.json" && ok "status --json: frontier" || bad "status --json: frontier"
  [ "$(grep -o '"seq": ' "$T/st.json" | wc -l)" -eq 5 ] && ok "status --json: last 5 events" || bad "status --json: events"
  [ "$(field "$T/st.json" jobs_done)" = 11 ] && [ "$(field "$T/st.json" budget_s)" = 3600 ] && ok "status --json: jobs and budget" || bad "status --json: jobs/budget"
else bad "status --json"; fi
# a live pid (this shell) is reported alive
E2="$T/exp-live"
"$M" "$E2" --pid $$ > /dev/null
"$P" status --dir "$E2" --json > "$T/st2.json" && [ "$(field "$T/st2.json" alive)" = true ] && ok "status: live daemon pid" || bad "status: live pid"
"$P" status --dir "$E2" | grep -q "daemon pid $$ (running)" && ok "status: live pid in text" || bad "status: live pid text"

# ---- frontier ----
if run 0 "$T/fr" "$T/err" "$P" frontier --dir "$E"; then
  n=$(grep -c "^m0000" "$T/fr")
  [ "$n" -eq 4 ] && ok "frontier: 4 hull/band rows" || bad "frontier: $n rows"
  grep -q "^m000004 *$(col m000004 2) *$(col m000004 3) *$(col m000004 4) .*88.00% *86.00% *2 m000002 *hull band parent x1" "$T/fr" \
    && ok "frontier: row of m000004 (costs, accuracies, lineage, marks)" || bad "frontier: m000004 row"
  grep -q "^m000003" "$T/fr" && bad "frontier: m000003 is off the band" || ok "frontier: off-band model left out"
else bad "frontier"; fi
run 0 "$T/fr.json" "$T/err" "$P" frontier --dir "$E" --json && [ "$(ids "$T/fr.json")" = "m000001 m000002 m000004 m000006" ] \
  && ok "frontier --json: hull models in cost order" || bad "frontier --json: $(ids "$T/fr.json")"
grep -q '"models": \[{"id": "m000001", "macs": '"$(col m000001 2)"', "params": '"$(col m000001 3)"', "mem_bytes": '"$(col m000001 4)"', "latency_ms": 0.050000, "val_acc": 0.700000' "$T/fr.json" \
  && ok "frontier --json: fields" || bad "frontier --json: fields"
run 0 "$T/fra.json" "$T/err" "$P" frontier --dir "$E" --json --all \
  && [ "$(ids "$T/fra.json")" = "m000001 m000002 m000003 m000004 m000005 m000006" ] \
  && grep -q '"id": "m000003",.*"on_hull": false, "in_band": false' "$T/fra.json" \
  && ok "frontier --all --json: every trained model" || bad "frontier --all: $(ids "$T/fra.json")"
run 0 "$T/fra" "$T/err" "$P" frontier --dir "$E" --all && [ "$(grep -c '^m0000' "$T/fra")" -eq 6 ] && ok "frontier --all: 6 rows" || bad "frontier --all rows"
if run 0 "$T/frs" "$T/err" "$P" frontier --dir "$E" --svg "$T/f.svg"; then
  grep -q "plot written to $T/f.svg" "$T/frs" && ok "frontier --svg prints the path" || bad "frontier --svg path"
  if rsvg-convert -o "$T/f.png" "$T/f.svg" && [ -s "$T/f.png" ] && [ "$(head -c 4 "$T/f.png" | tail -c 3)" = PNG ]; then
    ok "frontier --svg renders to PNG ($(wc -c < "$T/f.png") bytes)"
  else bad "frontier --svg does not render"; fi
else bad "frontier --svg"; fi
# without a stored frontier blob, the frontier is rebuilt from the models
E3="$T/exp-nofr"
"$M" "$E3" --no-frontier > /dev/null
run 0 "$T/fr3.json" "$T/err" "$P" frontier --dir "$E3" --json && [ "$(ids "$T/fr3.json")" = "m000001 m000002 m000004 m000006" ] \
  && grep -q '"source": "rebuilt from the models"' "$T/fr3.json" && ok "frontier rebuilt from the models" || bad "frontier rebuild: $(cat "$T/fr3.json")"

# ---- pick ----
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --json && [ "$(field "$T/p" id)" = m000006 ] && ok "pick: no limits -> best" || bad "pick no limits"
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-params "$(col m000005 3)" --json && [ "$(field "$T/p" id)" = m000004 ] \
  && ok "pick --max-params: m000004" || bad "pick --max-params: $(cat "$T/p")"
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-params "$(col m000005 3)" --metric test --json && [ "$(field "$T/p" id)" = m000005 ] \
  && ok "pick --metric test: m000005 (off the band)" || bad "pick --metric test: $(cat "$T/p")"
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-macs "$(col m000003 2)" --json && [ "$(field "$T/p" id)" = m000002 ] \
  && ok "pick --max-macs: m000002" || bad "pick --max-macs: $(cat "$T/p")"
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-latency-ms 0.12 --json && [ "$(field "$T/p" id)" = m000002 ] \
  && ok "pick --max-latency-ms: m000002" || bad "pick --max-latency-ms: $(cat "$T/p")"
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-memory "$(col m000004 4)" --json && [ "$(field "$T/p" id)" = m000004 ] \
  && ok "pick --max-memory: m000004" || bad "pick --max-memory: $(cat "$T/p")"
# suffixes: params of m000004 written in thousands (933 -> 0.933k)
k=$(awk -v p="$(col m000004 3)" 'BEGIN { printf "%gk", p / 1000 }')
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-params "$k" --json && [ "$(field "$T/p" id)" = m000004 ] \
  && ok "pick --max-params $k: m000004" || bad "pick --max-params $k: $(cat "$T/p")"
# MFLOPs count a multiply-add as 2 operations
mf=$(awk -v m="$(col m000003 2)" 'BEGIN { printf "%.6f", 2 * m / 1e6 }')
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-mflops "$mf" --json && [ "$(field "$T/p" id)" = m000002 ] \
  && ok "pick --max-mflops $mf: m000002" || bad "pick --max-mflops: $(cat "$T/p")"
mf=$(awk -v m="$(col m000003 2)" 'BEGIN { printf "%.6f", 2 * m / 1e6 - 0.000002 }')
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-mflops "$mf" --json && [ "$(field "$T/p" id)" = m000002 ] \
  && [ "$(grep -o '"max_macs": [0-9]*' "$T/p")" = "\"max_macs\": $(($(col m000003 2) - 1))" ] \
  && ok "pick --max-mflops $mf: 2 operations per multiply-add" || bad "pick --max-mflops: $(cat "$T/p")"
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-params "$(col m000005 3)" \
  && grep -q "picked m000004" "$T/p" && grep -q "$(col m000004 2) mult-adds" "$T/p" && grep -q "val 88.00%" "$T/p" \
  && ok "pick: text output" || bad "pick text: $(cat "$T/p")"
# impossible limits: exit 3, the cheapest model's costs
if run 3 "$T/p" "$T/err" "$P" pick --dir "$E" --max-macs 1k; then
  grep -q "no model" "$T/err" && grep -q "m000001: $(col m000001 2) mult-adds.* $(col m000001 3) params.*peak memory $(col m000001 4) bytes" "$T/err" \
    && ok "pick: impossible limits -> exit 3 with the cheapest model's costs" || bad "pick no fit message: $(cat "$T/err")"
else bad "pick impossible limits"; fi
run 3 "$T/p" "$T/err" "$P" pick --dir "$E" --max-latency-ms 0.01 --json && grep -q '"fit": false' "$T/p" \
  && grep -q '"cheapest": {"id": "m000001"' "$T/p" && ok "pick --json: no fit" || bad "pick --json no fit: $(cat "$T/p")"
# -o writes a model file that inspect reads
if run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-params "$(col m000005 3)" -o "$T/pick.petri"; then
  "$P" inspect "$T/pick.petri" --json > "$T/insp" 2>&1 && grep -q '"id": "m000004"' "$T/insp" \
    && grep -q "\"params\": $(col m000004 3)" "$T/insp" && ok "pick -o: model file inspect reads" || bad "pick -o: $(cat "$T/insp")"
  grep -q "model written to $T/pick.petri" "$T/p" && ok "pick -o: says where" || bad "pick -o message"
else bad "pick -o"; fi
# --remeasure: latency measured again here, said so; all five within the params limit measured
if run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --max-params "$(col m000005 3)" --max-latency-ms 1000 --remeasure --json; then
  grep -q '"remeasured": true, "remeasured_models": 5' "$T/p" && [ "$(field "$T/p" id)" = m000004 ] \
    && ok "pick --remeasure (json)" || bad "pick --remeasure: $(cat "$T/p")"
  lat=$(grep -o '"latency_ms": [0-9.]*' "$T/p" | sed 's/.*: //')
  [ "$lat" != "0.150000" ] && awk "BEGIN { exit !($lat > 0) }" && ok "pick --remeasure: a new, positive latency ($lat ms)" || bad "pick --remeasure latency $lat"
else bad "pick --remeasure"; fi
run 0 "$T/p" "$T/err" "$P" pick --dir "$E" --remeasure && grep -q "remeasured on this machine for 6 models" "$T/p" \
  && ok "pick --remeasure (text)" || bad "pick --remeasure text: $(cat "$T/p")"

# ---- export ----
if run 0 "$T/x" "$T/err" "$P" export m000003 --dir "$E" -o "$T/m3.petri"; then
  "$P" inspect "$T/m3.petri" > "$T/insp" 2>&1 && grep -q "lineage: id m000003, parent m000001, depth 1" "$T/insp" \
    && ok "export: model file inspect reads" || bad "export: $(cat "$T/insp")"
else bad "export"; fi
# ONNX: the same network (parameters, multiply-adds) comes back on import
cost() { "$P" inspect "$1" 2>&1 | grep -o "cost: [0-9]* params, [0-9.]* M mult-adds"; }
run 0 "$T/x" "$T/err" "$P" export m000003 --dir "$E" -o "$T/m3.onnx" && [ -n "$(cost "$T/m3.onnx")" ] \
  && [ "$(cost "$T/m3.onnx")" = "$(cost "$T/m3.petri")" ] && ok "export .onnx: $(cost "$T/m3.onnx"), as the model" \
  || bad "export onnx: $(cat "$T/err") $(cost "$T/m3.onnx")"
run 0 "$T/x" "$T/err" "$P" pick --dir "$E" -o "$T/p.onnx" && "$P" inspect "$T/p.onnx" > /dev/null 2>&1 \
  && ok "pick -o .onnx" || bad "pick onnx: $(cat "$T/err")"
run 1 "$T/x" "$T/err" "$P" export m999999 --dir "$E" -o "$T/x.petri" && grep -q "no model 'm999999'" "$T/err" \
  && ok "export: unknown id" || bad "export unknown id: $(cat "$T/err")"
run 2 "$T/x" "$T/err" "$P" export m000003 --dir "$E" && grep -q "\-o FILE is required" "$T/err" && ok "export: -o required" || bad "export -o"

# ---- clear errors ----
for c in status frontier pick; do
  run 2 "$T/x" "$T/err" "$P" $c && grep -q -- "--dir EXP is required" "$T/err" && ok "$c: missing --dir" || bad "$c missing --dir: $(cat "$T/err")"
  mkdir -p "$T/empty"
  run 1 "$T/x" "$T/err" "$P" $c --dir "$T/empty" && grep -q "not a petri experiment: no store" "$T/err" \
    && ok "$c: directory without a store" || bad "$c no store: $(cat "$T/err")"
done
run 2 "$T/x" "$T/err" "$P" export m000001 -o "$T/y.petri" && grep -q -- "--dir EXP is required" "$T/err" && ok "export: missing --dir" || bad "export --dir"
run 1 "$T/x" "$T/err" "$P" export m000001 --dir "$T/nowhere" -o "$T/y.petri" && grep -q "no store" "$T/err" && ok "export: missing directory" || bad "export no dir"
run 2 "$T/x" "$T/err" "$P" pick --dir "$E" --max-params lots && grep -q "not a whole number >= 1" "$T/err" && ok "pick: bad number" || bad "pick bad number"
run 2 "$T/x" "$T/err" "$P" pick --dir "$E" --metric train && grep -q "neither val nor test" "$T/err" && ok "pick: bad metric" || bad "pick bad metric"
run 2 "$T/x" "$T/err" "$P" frontier --dir "$E" --bogus && grep -q "unknown option --bogus" "$T/err" && ok "frontier: unknown option" || bad "frontier unknown option"

# ---- read-only, and beside a writer ----
# outputs never overwrite the store
for cmd in "pick --dir $E --max-params 1M -o $E/data.mdb" "pick --dir $E -o $E/lock.mdb" \
           "export m000004 --dir $E -o $E/data.mdb" "frontier --dir $E --svg $E/data.mdb"; do
  # shellcheck disable=SC2086
  run 2 "$T/o" "$T/e" "$P" $cmd && grep -q "refusing to write" "$T/e" && ok "refused: petri $cmd" || bad "not refused: petri $cmd"
done
(cd "$E" && "$P" pick --dir . -o data.mdb > "$T/o" 2> "$T/e"); rc=$?
[ $rc -eq 2 ] && ok "refused: pick --dir . -o data.mdb (relative)" || bad "pick --dir . -o data.mdb: exit $rc"
[ "$(cksum < "$E/data.mdb")" = "$sum0" ] && ok "the store is unchanged by the commands" || bad "the store changed"
E4="$T/exp-held"
mkfifo "$T/fifo"
"$M" "$E4" --pid $$ --hold < "$T/fifo" > "$T/held" &
hp=$!
exec 3> "$T/fifo"
i=0
while ! grep -q holding "$T/held" 2> /dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
if grep -q holding "$T/held"; then
  run 0 "$T/x" "$T/err" "$P" status --dir "$E4" && grep -q "6 trained" "$T/x" && ok "status while a writer holds the store" || bad "status beside a writer"
  run 0 "$T/x" "$T/err" "$P" pick --dir "$E4" --json && [ "$(field "$T/x" id)" = m000006 ] && ok "pick while a writer holds the store" || bad "pick beside a writer"
else bad "the holding writer did not start"; fi
exec 3>&-
wait $hp

# ---- damaged stores: a clear error, never a crash or a hang ----
# damaged NAME: a fresh directory D=$T/NAME; the caller writes its data.mdb
damaged() { rm -rf "$T/$1"; mkdir "$T/$1"; D="$T/$1"; }
# reads_damaged NAME PATTERN: every read command on $D exits 1 (not by a
# signal, no hang) with PATTERN in its message
reads_damaged() {
  name=$1; pat=$2
  for c in "status --dir $D" "frontier --dir $D --json" "pick --dir $D -o $T/dmg.petri" "export m000002 --dir $D -o $T/dmg.petri"; do
    # shellcheck disable=SC2086
    timeout 20 "$P" $c > "$T/o" 2> "$T/e"; rc=$?
    [ $rc -eq 1 ] && grep -q -- "$pat" "$T/e" && ok "$name: petri ${c%% *} exits 1, saying so" || bad "$name: petri $c: exit $rc: $(head -2 "$T/e")"
  done
}
damaged cut8k; head -c 8192 "$E/data.mdb" > "$D/data.mdb"
reads_damaged "cut to 8 KB" "data.mdb is damaged: 8192 bytes, but its header says it holds"
run 1 "$T/o" "$T/e" "$P" verify --dir "$D" && grep -q "cut short" "$T/o" && grep -q "DAMAGED" "$T/o" && ok "verify: a store cut short" || bad "verify cut: $(cat "$T/o" "$T/e")"
run 1 "$T/o" "$T/e" "$P" salvage --dir "$D" -o "$T/new-cut" && grep -q "nothing can be read" "$T/e" && ok "salvage: nothing to read in a store cut before its pages" || bad "salvage cut: $(cat "$T/o" "$T/e")"
damaged cut100k; head -c 100000 "$E/data.mdb" > "$D/data.mdb"
reads_damaged "cut to 100 KB" "cut short"
damaged empty; : > "$D/data.mdb"
reads_damaged "0-byte data.mdb" "is empty (0 bytes)"
damaged fifo; mkfifo "$D/data.mdb"
reads_damaged "a FIFO as data.mdb" "is a FIFO, not a store file"
run 1 "$T/o" "$T/e" "$P" verify --dir "$D" && ok "verify: a FIFO is damage, no hang" || bad "verify fifo: $(cat "$T/o" "$T/e")"
damaged dir; mkdir "$D/data.mdb"
reads_damaged "a directory as data.mdb" "is a directory"

# flipped bytes in records: read commands name the record, verify lists
# every damaged one, salvage copies the rest into a store that verifies
damaged flip; cp "$E/data.mdb" "$D/data.mdb"
printf '%s\n' "import sys" "p = sys.argv[1]" "d = bytearray(open(p, 'rb').read())" \
  "for magic in (b'PETRISUM', b'PETRIQUE'):" "    d[d.find(magic) + 7] ^= 0x20" "open(p, 'wb').write(d)" > "$T/flip.py"
python3 "$T/flip.py" "$D/data.mdb"   # one summary and one queue entry lose their magic
sumf=$(cksum < "$D/data.mdb")
run 1 "$T/o" "$T/e" "$P" status --dir "$D" && grep -q "wrong magic" "$T/e" && ok "status: a damaged record is named" || bad "status flip: $(cat "$T/e")"
run 1 "$T/o" "$T/e" "$P" verify --dir "$D" && grep -q "damaged: summary 'm0000[0-9]*': wrong magic" "$T/o" \
  && grep -q "damaged: queue entry [0-9]*: wrong magic" "$T/o" && grep -q "2 damaged records" "$T/o" \
  && ok "verify: lists both damaged records, exit 1" || bad "verify flip: $(cat "$T/o" "$T/e")"
run 0 "$T/o" "$T/e" "$P" salvage --dir "$D" -o "$T/new" && grep -q "^summaries *7 copied, *1 skipped" "$T/o" \
  && grep -q "^entries *6 copied, *1 skipped" "$T/o" && grep -q "the new store verifies" "$T/o" \
  && ok "salvage: counts per database" || bad "salvage flip: $(cat "$T/o" "$T/e")"
run 0 "$T/o" "$T/e" "$P" verify --dir "$T/new" && grep -q "ok: .* all verified" "$T/o" && ok "verify: the salvaged store is whole" || bad "verify new: $(cat "$T/o" "$T/e")"
run 0 "$T/o" "$T/e" "$P" status --dir "$T/new" && grep -q "models: [56] trained" "$T/o" && ok "status on the salvaged store" || bad "status new: $(cat "$T/o" "$T/e")"
[ "$(cksum < "$D/data.mdb")" = "$sumf" ] && ok "salvage and verify leave the damaged store as it was" || bad "the damaged store changed"
run 2 "$T/o" "$T/e" "$P" salvage --dir "$D" -o "$T/new" && grep -q "not an empty directory" "$T/e" && ok "salvage: refuses a NEW that is not empty" || bad "salvage into non-empty: $(cat "$T/e")"
run 2 "$T/o" "$T/e" "$P" salvage --dir "$D" && grep -q -- "-o NEW is required" "$T/e" && ok "salvage: -o required" || bad "salvage -o"
run 2 "$T/o" "$T/e" "$P" verify && grep -q -- "--dir EXP is required" "$T/e" && ok "verify: --dir required" || bad "verify --dir"
run 0 "$T/o" "$T/e" "$P" verify --dir "$E" && grep -q "ok: .* all verified" "$T/o" && ok "verify: an intact store" || bad "verify intact: $(cat "$T/o" "$T/e")"
# search refuses to resume a damaged store, and writes nothing into it
run 1 "$T/o" "$T/e" "$P" search --dir "$D" --jobs 1 && grep -q "fails verification" "$T/e" \
  && ok "search: refuses to resume a damaged store" || bad "search on damage: $(cat "$T/e")"
[ "$(cksum < "$D/data.mdb")" = "$sumf" ] && ok "search left the damaged store as it was" || bad "search changed the damaged store"

# scribbled node areas: liblmdb may die reading these; the commands report
# it (exit 1) and never die themselves
printf '%s\n' "import random, sys" "r = random.Random(int(sys.argv[1]))" "d = bytearray(open(sys.argv[2], 'rb').read())" \
  "a = r.randrange(2, len(d) // 4096)" "for _ in range(8):" "    d[a * 4096 + r.randrange(16, 64)] = r.randrange(256)" \
  "open(sys.argv[3], 'wb').write(d)" > "$T/scribble.py"
crashed=0 deaths=0
for s in $(seq 30 45); do
  damaged scribble; python3 "$T/scribble.py" "$s" "$E/data.mdb" "$D/data.mdb"
  for c in status verify; do
    timeout 20 "$P" $c --dir "$D" > "$T/o" 2> "$T/e"; rc=$?
    [ $rc -ge 2 ] && { deaths=$((deaths + 1)); echo "  petri $c, damage $s: exit $rc"; }
    grep -q "the reader died of SIG" "$T/e" && crashed=$((crashed + 1))
  done
done
[ $deaths -eq 0 ] && ok "scribbled pages: status and verify never die ($crashed reader deaths reported)" || bad "scribbled pages: $deaths deaths"

finish cli_store
