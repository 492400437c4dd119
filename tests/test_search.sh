#!/bin/sh
# test_search.sh PETRI - the search end to end on a tiny synthetic data set:
# it runs, the frontier holds >= 3 models, status/pick/export work, a second
# daemon and bad options are refused without touching the store; the input
# scale is the experiment's, and a resume refuses another; status shows the
# running jobs while a search runs and none after; the model cards hold the
# omega rankings and loss curves of the grown children.
set -u
P="$1"
. "$(dirname "$0")/lib.sh"
tiny_data "$T/d.csv"
E="$T/exp"
if "$P" search "$T/d.csv" --shape 1x8x8 --dir "$E" --jobs 12 --workers 2 --filters 4 --stages 2 \
     --seed-epochs 2 --cand-epochs 0.5 --child-epochs 1 --batch 32 > "$T/out" 2> "$T/err"; then
  ok "search ran to its budget"
else bad "search failed: $(tail -5 "$T/err")"; fi
grep -q "search stopped: budget of 12 jobs spent" "$T/err" && ok "stopped by the jobs budget" || bad "no budget stop: $(tail -3 "$T/err")"
[ -s "$E/log" ] && grep -q "trained" "$E/log" && ok "log file in the experiment" || bad "no log"
# no idle core: the first model trains alone, with the threads of both workers
grep -q "job [0-9]* (m000001) -> worker [0-9], 2 threads" "$T/err" && ok "the first model's job holds both workers' threads" \
  || bad "first job's threads: $(grep -m1 'm000001) -> worker' "$T/err")"
n=$("$P" frontier --dir "$E" --all --json 2>/dev/null | grep -o '"id"' | wc -l)
[ "$n" -ge 3 ] && ok "frontier holds $n models" || bad "frontier holds $n models"
"$P" status --dir "$E" > "$T/st" 2>&1 && ok "status" || bad "status: $(cat "$T/st")"
"$P" pick --dir "$E" -o "$T/p.petri" > "$T/pick" 2>&1 && "$P" inspect "$T/p.petri" > /dev/null && ok "pick -o" || bad "pick: $(cat "$T/pick")"
id=$("$P" frontier --dir "$E" --all --json | grep -o '"id": *"[^"]*"' | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
"$P" export "$id" --dir "$E" -o "$T/e.petri" > /dev/null 2>&1 && "$P" eval "$T/e.petri" "$T/d.csv" --shape 1x8x8 > /dev/null && ok "export $id" || bad "export $id"
# model cards: every grown child's omega ranking chose what growth added, and
# every trained child has a loss curve
cat > "$T/card.py" <<'PY'
import json, subprocess, sys
P, E = sys.argv[1], sys.argv[2]
models = json.loads(subprocess.check_output([P, "frontier", "--dir", E, "--all", "--json"]))["models"]
checked = 0
for m in models:
    if m["depth"] < 1:
        continue
    c = json.loads(subprocess.check_output([P, "card", m["id"], "--dir", E, "--json"]))
    r, cv = c["omega_ranking"], c["curve"]
    assert r is not None and cv is not None, (m["id"], c["not_stored"])
    assert c["not_stored"] == [] and r["parent"] == c["parent"] == m["parent"], c
    assert 1 <= len(r["ranking"]) <= min(64, r["pairs"]), r
    om = [abs(p["omega"]) if p["omega"] is not None else -1 for p in r["ranking"]]
    assert all(a >= b for a, b in zip(om, om[1:]) if b >= 0), om
    chosen = {(p["target"], p["input"], p["op"]) for p in r["ranking"] if p["chosen"]}
    text = c["grown"]["text"].replace("random: ", "")
    grown = set()
    for part in text.split(";"):
        ops, target = part.strip().split(" -> ")
        for o in ops.split("+"):
            name, inp = o.rstrip(")").split("(")
            grown.add((int(target), int(inp), name))
    assert chosen == grown, (m["id"], chosen, text)
    layers = {(l["target"], i, o) for l in c["grown"]["layers"] for i, o in zip(l["inputs"], l["ops"])}
    assert layers == grown, (layers, grown)
    assert len(cv["points"]) >= 1 and len(cv["points"]) <= 64 and cv["first_step"] == 1, cv
    steps = [p[0] for p in cv["points"]]
    assert steps == sorted(set(steps)) and steps[-1] == cv["steps"], cv
    assert all(isinstance(p[1], (int, float)) for p in cv["points"]), cv
    checked += 1
assert checked >= 2, checked
print(checked)
PY
n=$(python3 "$T/card.py" "$P" "$E" 2> "$T/card.err") && ok "model cards of $n grown children: the chosen pairs are what growth added; loss curves stored" ||
  bad "model cards: $(tail -3 "$T/card.err")"
"$P" card m000001 --dir "$E" > "$T/seed.card" 2>&1 && grep -q "not stored: omega ranking" "$T/seed.card" && grep -q "training loss: steps 1\.\." "$T/seed.card" &&
  ok "card of the seed: its curve, and it says the ranking is not stored" || bad "card of the seed: $(cat "$T/seed.card")"
"$P" card m000001 --dir "$E" --json | python3 -c 'import json, sys; c = json.load(sys.stdin); assert c["omega_ranking"] is None and c["not_stored"] == ["omega_ranking"] and c["parent"] is None' 2> "$T/e" &&
  ok "card --json of the seed: omega_ranking null, named in not_stored" || bad "card --json of the seed: $(cat "$T/e")"
expect_fail "card of a model not in the store" "no model 'm999999'" "$P" card m999999 --dir "$E"
expect_fail "card without a model id" "which model" "$P" card --dir "$E"
# resume: the budget is spent, so a rerun ends at once and redoes nothing
before=$(grep -c trained "$E/log")
"$P" search --dir "$E" --quiet > /dev/null 2>&1 && ok "resume of a finished search" || bad "resume failed"
after=$(grep -c trained "$E/log")
[ "$before" = "$after" ] && ok "nothing redone on resume ($after trained)" || bad "trained $before -> $after on resume"
# a larger budget continues the same experiment
"$P" search --dir "$E" --jobs 16 --quiet > /dev/null 2>&1 && [ "$(grep -c trained "$E/log")" -gt "$after" ] && ok "resume with a larger budget trains more" || bad "resume with a larger budget"
# bad input: clear error, non-zero exit, store untouched
sum() { md5sum < "$E/data.mdb"; }
s0=$(sum)
expect_fail "other data set" "belongs to the data set" "$P" search "$T/d.test.csv" --shape 1x8x8 --dir "$E"
expect_fail "another --input-scale on resume" "made with --input-scale 1, not 1/255" "$P" search --dir "$E" --input-scale 1/255
expect_fail "bad budget" "not a duration" "$P" search --dir "$E" --budget soon
expect_fail "unknown option" "unknown option" "$P" search --dir "$E" --frobnicate
expect_fail "missing --dir" "needs --dir" "$P" search "$T/d.csv"
expect_fail "missing data" "cannot open\|no such" "$P" search "$T/nope.csv" --dir "$T/exp2"
expect_fail "stop without daemon" "no daemon" "$P" stop --dir "$E"
# the same path with other contents: one pixel of the first row changed
cp "$T/d.csv" "$T/d.csv.orig"
awk -F, 'NR == 1 { $3 = $3 + 1 } 1' OFS=, "$T/d.csv.orig" > "$T/d.csv"
expect_fail "a changed data set" "changed since the search started" "$P" search --dir "$E" --jobs 40
mv "$T/d.csv.orig" "$T/d.csv"
[ "$(sum)" = "$s0" ] && ok "store untouched by refused commands" || bad "store changed"
# the input scale is the experiment's: stored at creation, in every model
grep -q "search created: data .* (inputs: its values times 1)" "$E/log" && ok "the log names the input scale" || bad "input scale not in the log"
"$P" inspect "$T/p.petri" --json | grep -q '"input_scale": 1,' && ok "picked model records input scale 1" || bad "picked model's input scale"
"$P" search --dir "$E" --input-scale 1 --quiet > /dev/null 2> "$T/e" && ok "resume naming the same --input-scale" || bad "resume with --input-scale 1: $(cat "$T/e")"
"$P" search "$T/d.csv" --shape 1x8x8 --input-scale 1/255 --dir "$T/exp4" --jobs 2 --workers 1 --filters 4 --stages 2 \
  --seed-epochs 0.5 --cand-epochs 0.3 --child-epochs 0.3 --batch 32 --quiet > /dev/null 2> "$T/e" &&
  "$P" pick --dir "$T/exp4" -o "$T/p4.petri" > /dev/null 2>&1 && "$P" inspect "$T/p4.petri" --json | grep -q '"input_scale": 0.0039215686274509803,' \
  && ok "search --input-scale 1/255 on CSV: its models record it" || bad "search --input-scale 1/255: $(cat "$T/e")"
expect_fail "a 1/255 search refuses --input-scale 2 on resume" "made with --input-scale 1/255, not 2" \
  "$P" search --dir "$T/exp4" --input-scale 2
# stop through the control socket while a search runs
"$P" search "$T/d.csv" --shape 1x8x8 --dir "$T/exp3" --workers 2 --filters 4 --stages 2 --batch 32 --quiet > /dev/null 2>&1 &
pid=$!
i=0; while [ ! -S "$T/exp3/control" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(stat -c %a "$T/exp3/control" 2>/dev/null)" = 600 ] && ok "control socket is mode 0600" || bad "control socket mode"
expect_fail "second daemon refused" "another process" "$P" search --dir "$T/exp3" --quiet
expect_fail "second detached daemon refused" "already runs" "$P" search --dir "$T/exp3" --detach
"$P" stop --dir "$T/exp3" > /dev/null 2>&1 && ok "petri stop" || bad "petri stop"
wait $pid && ok "daemon exited cleanly after stop" || bad "daemon exit status"
grep -q "stop requested" "$T/exp3/log" && ok "stop recorded in the log" || bad "stop not in log"
# SIGTERM stops cleanly too
"$P" search --dir "$T/exp3" --quiet > /dev/null 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
wait $pid && ok "SIGTERM stops cleanly" || bad "SIGTERM exit status"
# a search started with a relative data path resumes from any directory
(cd "$T" && "$P" search d.csv --shape 1x8x8 --dir rel --jobs 2 --workers 1 --filters 4 --stages 2 --seed-epochs 1 \
  --cand-epochs 0.3 --child-epochs 1 --batch 32 --quiet > /dev/null 2>&1) &&
(cd / && "$P" search --dir "$T/rel" --jobs 3 --quiet > /dev/null 2> "$T/rel.err") &&
  ok "resume from another directory" || bad "resume from another directory: $(cat "$T/rel.err")"
(cd "$T" && "$P" search d.csv --dir rel --jobs 3 --quiet > /dev/null 2>&1) && ok "resume naming the same data relatively" ||
  bad "resume naming the same data relatively"
# running jobs: status --json shows them while a search runs (kinds, models,
# fractions), and none once it has ended
cat > "$T/jobs.py" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    d = json.loads(line)
    jobs = d.get("jobs") or []
    assert not jobs or (d["state"] == "running" and d["alive"]), d
    for j in jobs:
        assert j["kind"] in ("seed", "child", "candidate"), j
        assert 0 <= j["frac"] <= 1 and j["elapsed_s"] >= 0 and j["model"].startswith("m"), j
        assert j["eta_s"] is None or j["eta_s"] >= 0, j
        assert 0 <= j["worker"] < 2, j
        seen.add(j["kind"])
assert seen, "no running job seen"
print(" ".join(sorted(seen)))
PY
"$P" search "$T/d.csv" --shape 1x8x8 --dir "$T/exp5" --jobs 3 --workers 1 --filters 4 --stages 2 --seed-epochs 120 \
  --cand-epochs 40 --child-epochs 60 --batch 32 --quiet > /dev/null 2>&1 &
pid=$!
: > "$T/jobs"
while kill -0 $pid 2> /dev/null; do
  [ -e "$T/exp5/data.mdb" ] && "$P" status --dir "$T/exp5" --json >> "$T/jobs" 2> /dev/null
  sleep 0.2
done
wait $pid && ok "a search watched by status" || bad "the watched search failed"
kinds=$(python3 "$T/jobs.py" "$T/jobs" 2> "$T/e") && ok "status --json showed running jobs ($kinds) with frac in [0, 1]" ||
  bad "status --json while running: $(tail -2 "$T/e")"
"$P" status --dir "$T/exp5" --json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert not d.get("jobs"), d' 2> "$T/e" &&
  ! "$P" status --dir "$T/exp5" | grep -q "running jobs" && ok "no running jobs once the search ended" || bad "running jobs after the end: $(cat "$T/e")"
# a daemon killed while its jobs run leaves their record: never shown as running
"$P" search --dir "$T/exp5" --jobs 8 --quiet > /dev/null 2>&1 &
pid=$!
i=0; while ! "$P" status --dir "$T/exp5" --json 2> /dev/null | grep -q '"jobs"' && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL $pid; wait $pid 2> /dev/null
[ $i -lt 200 ] && "$P" status --dir "$T/exp5" --json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert not d.get("jobs") and not d["alive"], d' 2> "$T/e" &&
  "$P" status --dir "$T/exp5" | grep -q "not running: it died" && ! "$P" status --dir "$T/exp5" | grep -q "running jobs" &&
  ok "the jobs of a killed daemon are not shown as running" || bad "killed daemon's jobs: waited $i, $(cat "$T/e")"
# a full disk stops the search with a non-zero exit, and the store stays readable
if [ "$(id -u)" = 0 ] && mkdir -p "$T/tiny" && mount -t tmpfs -o size=200k tmpfs "$T/tiny" 2> /dev/null; then
  "$P" search "$T/d.csv" --shape 1x8x8 --dir "$T/tiny/exp" --jobs 60 --workers 1 --filters 4 --stages 2 \
    --seed-epochs 1 --cand-epochs 0.3 --child-epochs 1 --batch 32 --quiet > /dev/null 2> "$T/full"; rc=$?
  [ $rc -ne 0 ] && grep -q "store write failed" "$T/full" && ok "full disk: exit $rc, $(cat "$T/full")" || bad "full disk: exit $rc, $(cat "$T/full")"
  "$P" status --dir "$T/tiny/exp" > /dev/null 2>&1 && ok "full disk: the store still reads" || bad "full disk: status fails"
  umount "$T/tiny"
else echo "skip full disk: cannot mount a small tmpfs here"; fi
finish search
