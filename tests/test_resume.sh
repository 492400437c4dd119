#!/bin/sh
# test_resume.sh PETRI - a running job checkpoints its training (weights,
# momentum, BN statistics, the step) into the store, so that a kill -9 or
# a stop costs at most one interval of its work:
#   a seed job of a few thousand steps on a tiny data set, run whole (A);
#   the same search killed with SIGKILL half-way (B): run again, its job
#     resumes at a step past 0, and ends with A's weights bit for bit (the
#     data order and augmentation of a step depend on the seed and the step
#     alone; one thread, as in A);
#   the same search stopped with petri stop half-way (C): the stop writes a
#     checkpoint at once, the resumed job goes on from there, A's weights;
#   a resumed search with other --batch and --lr keeps the experiment's.
set -u
P="$1"
. "$(dirname "$0")/lib.sh"
tiny_data "$T/d.csv"
a="--shape 1x8x8 --jobs 1 --workers 1 --threads-per-worker 1 --filters 4 --stages 2 --seed-epochs 1000 --batch 32"
export OMP_NUM_THREADS=1

# the first model's predictions on the test rows
predict() { # EXP OUT.csv
  id=$("$P" frontier --dir "$1" --all --json | grep -o '"id": "[^"]*"' | head -1 | cut -d'"' -f4)
  "$P" export "$id" --dir "$1" -o "$T/m.petri" > /dev/null 2>&1 &&
    "$P" predict "$T/m.petri" "$T/d.csv" --shape 1x8x8 --rows 60 -o "$2" > /dev/null 2>&1
}
# wait until the running seed job of EXP has done at least a third of its
# steps (a job of ~8 s on a quiet machine: the running jobs' record in the
# store is written every 2 s)
third() { # EXP PID
  for i in $(seq 1 600); do
    kill -0 "$2" 2> /dev/null || return 1
    "$P" status --dir "$1" --json 2> /dev/null | python3 -c '
import json, sys
try:
    j = [x for x in json.load(sys.stdin).get("jobs", []) if x["kind"] == "seed"]
except ValueError: # no store yet
    sys.exit(1)
sys.exit(not (j and j[0]["step"] * 3 >= j[0]["steps"]))' 2> /dev/null && return 0
    sleep 0.1
  done
  return 1
}

"$P" search "$T/d.csv" --dir "$T/A" $a --quiet > /dev/null 2> "$T/err" && predict "$T/A" "$T/A.csv" &&
  ok "the whole run" || bad "search A: $(tail -3 "$T/err")"

# ---- kill -9 half-way ----
"$P" search "$T/d.csv" --dir "$T/B" $a --checkpoint-every 0.2s --quiet > /dev/null 2>&1 &
pid=$!
if third "$T/B" $pid; then
  # the status is at most 2 s old and the job checkpoints every 0.2 s: a
  # checkpoint past the third is in the store, the job not yet done
  kill -9 $pid; wait $pid 2> /dev/null
  "$P" search --dir "$T/B" --workers 1 > /dev/null 2> "$T/b.err"
  s=$(sed -n 's/.*job 1 (m000001) resumes at step \([0-9]*\) of \([0-9]*\).*/\1 \2/p' "$T/b.err")
  set -- $s
  [ $# = 2 ] && [ "$1" -gt 0 ] && [ "$1" -lt "$2" ] && ok "after kill -9 the job resumes at step $1 of $2" ||
    bad "no resume after kill -9: $(grep -i 'resum\|job' "$T/b.err" | head -3)"
  predict "$T/B" "$T/B.csv" && cmp -s "$T/A.csv" "$T/B.csv" && ok "killed and resumed: the whole run's weights, bit for bit" ||
    bad "killed and resumed: other predictions than the whole run"
else bad "the seed job of B ended or never reached a third of its steps"; kill -9 $pid 2> /dev/null; fi

# ---- petri stop half-way: checkpointed at the stop ----
"$P" search "$T/d.csv" --dir "$T/C" $a --checkpoint-every 1h --quiet > /dev/null 2>&1 &
pid=$!
if third "$T/C" $pid; then
  "$P" stop --dir "$T/C" > /dev/null 2>&1; wait $pid
  "$P" search --dir "$T/C" --workers 1 > /dev/null 2> "$T/c.err"
  s=$(sed -n 's/.*job 1 (m000001) resumes at step \([0-9]*\) of \([0-9]*\).*/\1 \2/p' "$T/c.err")
  set -- $s
  [ $# = 2 ] && [ "$1" -gt 0 ] && [ $(($1 * 3)) -ge "$2" ] && ok "after petri stop the job resumes where it stopped, step $1 of $2" ||
    bad "no resume at the stop: $(grep -i 'resum\|job' "$T/c.err" | head -3)"
  predict "$T/C" "$T/C.csv" && cmp -s "$T/A.csv" "$T/C.csv" && ok "stopped and resumed: the whole run's weights, bit for bit" ||
    bad "stopped and resumed: other predictions than the whole run"
else bad "the seed job of C ended or never reached a third of its steps"; kill -9 $pid 2> /dev/null; fi

# ---- the experiment's batch and learning rate survive a resume ----
"$P" search "$T/d.csv" --dir "$T/D" $a --checkpoint-every 1h --quiet > /dev/null 2>&1 &
pid=$!
if third "$T/D" $pid; then
  kill -9 $pid; wait $pid 2> /dev/null
  "$P" search --dir "$T/D" --workers 1 --batch 64 --lr 0.3 > /dev/null 2> "$T/d.err"
  grep -q "warning: --batch 64 ignored" "$T/d.err" && grep -q "warning: --lr 0.3 ignored" "$T/d.err" &&
    ok "the resume says --batch and --lr are ignored" || bad "no warning on --batch/--lr: $(head -3 "$T/d.err")"
  "$P" status --dir "$T/D" --json | grep -q '"batch": "32"' && ok "the experiment's batch (32) kept" ||
    bad "batch after a resume: $("$P" status --dir "$T/D" --json | grep -o '"batch": "[^"]*"')"
  predict "$T/D" "$T/D.csv" && cmp -s "$T/A.csv" "$T/D.csv" && ok "a resume with --batch 64 --lr 0.3 trains as the experiment says" ||
    bad "a resume with other --batch and --lr changed the training"
else bad "the seed job of D ended or never reached a third of its steps"; kill -9 $pid 2> /dev/null; fi

finish resume
