#!/bin/sh
# test_workers.sh PETRI - jobs run in worker processes. A worker killed in
# the middle of a job fails that job alone, with the signal as its reason;
# the job runs again and the search ends as planned. The spawner (which
# forks the worker processes) killed: the job in flight fails, the daemon
# goes on and ends its search. A job over
# --job-memory fails with "out of memory" and the daemon goes on. A ^C to
# the whole process group stops the search cleanly (the workers leave the
# stop to the daemon). A daemon killed with -9 takes its spawner and its
# workers with it.
# --deterministic: 1, 2 and 3 workers train the same models, bit for bit.
set -u
P="$1"
. "$(dirname "$0")/lib.sh"
tiny_data "$T/d.csv"
common="--shape 1x8x8 --workers 2 --filters 4 --stages 2 --batch 32"


# a worker process killed with -9 in the middle of the seed's training
E="$T/kill"
"$P" search "$T/d.csv" --dir "$E" $common --jobs 6 --seed-epochs 300 --cand-epochs 0.5 --child-epochs 1 > /dev/null 2> "$T/err" &
pid=$!
wait_job "$P" "$E" && w=$(worker_procs $pid | head -1) && [ -n "$w" ] && kill -KILL "$w" && ok "killed worker process $w during the seed's job" ||
  bad "no running job or worker process to kill"
wait $pid && ok "the daemon survived its worker and ended its search (exit 0)" || bad "search exit status $?"
grep -q "job 1 (m000001) failed: worker process ${w:-x} killed by signal 9" "$T/err" &&
  ok "the job failed with the signal as its reason" || bad "no such failure: $(grep -m2 failed "$T/err")"
grep -q "search stopped: budget of 6 jobs spent" "$T/err" && ok "the search ran to its budget" || bad "$(tail -2 "$T/err")"
"$P" status --dir "$E" --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert all(q["failed"] == 0 for q in d["queues"].values()), d["queues"]
assert d["models"]["trained"] >= 3, d["models"]' 2> "$T/e" && ok "the job ran again: nothing failed for good, 3+ models trained" ||
  bad "after the kill: $(tail -2 "$T/e")"
grep -q "failed: worker process ${w:-x} killed by signal 9" "$E/log" && ok "the failure is in the experiment's log" || bad "not in the log"

# the spawner (the process that forks the worker processes) killed in the
# middle of a job: that job fails (its process went with the spawner), the
# daemon forks the next processes itself and ends its search (not under
# AddressSanitizer: a process forked by a thread there may inherit the
# allocator's lock held, which is why the spawner exists)
if ldd "$P" 2> /dev/null | grep -q libasan; then
  echo "skip the spawner's kill: a sanitizer build"
else
  E="$T/spawner"
  "$P" search "$T/d.csv" --dir "$E" $common --jobs 6 --seed-epochs 300 --cand-epochs 0.5 --child-epochs 1 > /dev/null 2> "$T/err" &
  pid=$!
  sp=""
  wait_job "$P" "$E" && sp=$(pgrep -P $pid | head -1) && [ -n "$(pgrep -P "$sp")" ] && kill -KILL "$sp" &&
    ok "killed the spawner $sp during the seed's job" || bad "no spawner with a worker process to kill"
  wait $pid && grep -q "search stopped: budget of 6 jobs spent" "$T/err" && ok "the daemon lived on and ran its search to its budget" ||
    bad "after the spawner's kill: $(grep -v '^\[' "$T/err" | tail -2)"
  grep -q "job 1 (m000001) failed: worker process lost" "$T/err" && ok "the job in flight failed with the reason" ||
    bad "no failure for the spawner's kill: $(grep -m2 failed "$T/err")"
fi

# --job-memory: jobs that need more fail with out of memory, the daemon
# lives (not under AddressSanitizer, whose own mappings a limit on the
# address space breaks: it hangs reporting the failure)
if ldd "$P" 2> /dev/null | grep -q libasan; then
  echo "skip --job-memory failures: a sanitizer build"
else
  E="$T/mem"
  "$P" search "$T/d.csv" --dir "$E" --shape 1x8x8 --workers 2 --filters 64 --stages 2 --batch 32 --jobs 8 \
    --job-memory 1M > /dev/null 2> "$T/err"; rc=$?
  [ $rc -lt 128 ] && ok "a search whose jobs run out of memory ends by itself (exit $rc)" || bad "killed by signal $((rc - 128))"
  grep -q "failed: cannot allocate .* (over --job-memory, 1 MB)" "$T/err" && ok "jobs over --job-memory fail with the reason" ||
    bad "no out-of-memory failure: $(grep -m2 failed "$T/err")"
  "$P" verify --dir "$E" > /dev/null 2>&1 && ok "its store verifies" || bad "its store does not verify"
fi
"$P" search "$T/d.csv" --dir "$T/mem2" $common --jobs 3 --job-memory 2G > /dev/null 2> "$T/err" &&
  grep -q "budget of 3 jobs spent" "$T/err" && ! grep -q "failed:" "$T/err" && ok "a roomy --job-memory changes nothing" ||
  bad "--job-memory 2G: $(tail -3 "$T/err")"
expect_fail "a bad --job-memory is refused" "job-memory" "$P" search "$T/d.csv" --dir "$T/mem3" $common --job-memory 12x
[ ! -e "$T/mem3/data.mdb" ] && ok "and creates nothing" || bad "a store was created"

# --job-timeout: a job running longer is killed and fails; after its 3
# attempts the search has nothing left and ends
E="$T/slow"
"$P" search "$T/d.csv" --dir "$E" $common --jobs 6 --seed-epochs 1000 --job-timeout 1s > /dev/null 2> "$T/err"; rc=$?
[ $rc -lt 128 ] && grep -q "search stopped: nothing left to train" "$T/err" &&
  ok "a job past --job-timeout 1s: the search ended by itself (exit $rc)" ||
  bad "--job-timeout: exit $rc, $(grep -v '^\[' "$T/err" | tail -2)"
[ "$(grep -c "job 1 (m000001) failed: timed out after 1 s (--job-timeout)" "$T/err")" = 3 ] && grep -q "not retried again" "$T/err" &&
  ok "it failed 3 times with the reason, then for good" || bad "--job-timeout: $(grep -m3 'failed' "$T/err")"
expect_fail "a bad --job-timeout is refused" "job-timeout" "$P" search "$T/d.csv" --dir "$T/slow2" $common --job-timeout 0

# ^C to the process group: the daemon stops its jobs; the workers do not die of it
E="$T/int"
setsid "$P" search "$T/d.csv" --dir "$E" $common --jobs 6 --seed-epochs 300 > /dev/null 2> "$T/err" &
pid=$!
if wait_job "$P" "$E"; then
  kill -INT -$pid
  wait $pid && ok "^C to the process group: exit 0" || bad "^C: exit status $?"
  grep -q "job 1 (m000001) interrupted" "$T/err" && ! grep -q "failed:" "$T/err" && ok "the running job was interrupted, not failed" ||
    bad "^C: $(grep -m3 'interrupted\|failed' "$T/err")"
else bad "no running job to interrupt"; kill $pid; fi

# kill -9 of the daemon, three times during the seed's job: its worker
# processes end with it, and the job in flight uses no attempt (three
# charged kills would fail it for good)
E="$T/dead"
kills=0
for round in 1 2 3; do
  "$P" search "$T/d.csv" --dir "$E" $common --jobs 6 --seed-epochs 300 --checkpoint-every 0 > /dev/null 2>&1 &
  pid=$!
  wait_job "$P" "$E" || { kill $pid; wait $pid; break; }
  ws=$(worker_procs $pid)
  sp=$(pgrep -P $pid)
  kill -KILL $pid; wait $pid 2> /dev/null
  sleep 1
  left=""
  # alive: not gone, and not a zombie (nothing may reap orphans here)
  for w in $sp $ws; do st=$(ps -o stat= -p "$w"); [ -n "$st" ] && [ "${st#Z}" = "$st" ] && left="$left $w"; done
  [ -n "$ws" ] && [ -z "$left" ] || { bad "kill $round: processes left running:$left (of spawner $sp, workers $ws)"; break; }
  kills=$((kills + 1))
done
[ $kills -eq 3 ] && ok "3 kills -9 of the daemon during the seed's job; its spawner and every worker process ended with it" || bad "only $kills kills"
"$P" search --dir "$E" --jobs 6 > /dev/null 2> "$T/err" && grep -q "budget of 6 jobs spent" "$T/err" &&
  ok "the search resumes and runs to its budget" || bad "resume: $(tail -2 "$T/err")"
"$P" status --dir "$E" --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert all(q["failed"] == 0 for q in d["queues"].values()), d["queues"]
assert d["models"]["trained"] >= 3 and d["models"]["failed"] == 0, d["models"]' 2> "$T/e" &&
  ok "no job failed for the kills" || bad "after 3 kills: $(tail -2 "$T/e")"
# --deterministic: the same models whatever the number of workers
for w in 1 2 3; do
  "$P" search "$T/d.csv" --dir "$T/det$w" $common --workers $w --jobs 12 --seed-epochs 2 --deterministic \
    --quiet > /dev/null 2> "$T/err" || bad "deterministic search, $w workers: $(tail -2 "$T/err")"
  models_digest "$P" "$T/det$w" "$T/d.csv" 1x8x8 > "$T/det$w.txt"
done
n=$(wc -l < "$T/det1.txt")
[ "$n" -ge 5 ] && cmp -s "$T/det1.txt" "$T/det2.txt" && cmp -s "$T/det1.txt" "$T/det3.txt" &&
  ok "--deterministic: 1, 2 and 3 workers trained the same $n models (architecture, metrics, weights)" ||
  bad "--deterministic: $n models; 1 vs 2 vs 3 workers: $(diff "$T/det1.txt" "$T/det2.txt" | head -4) $(diff "$T/det1.txt" "$T/det3.txt" | head -4)"
grep -q '"deterministic": "1"' "$T/st.json" 2> /dev/null || "$P" status --dir "$T/det2" --json > "$T/st.json"
grep -q '"deterministic": "1"' "$T/st.json" && ok "status shows the search is deterministic" || bad "status: $(head -c 300 "$T/st.json")"
finish workers
