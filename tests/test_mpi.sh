#!/bin/sh
# test_mpi.sh PETRI - workers as MPI ranks on loopback (Open MPI's mpirun,
# --oversubscribe): a search of 3 ranks completes with a consistent store;
# a rank with another data set is refused by its fingerprint; a job whose
# worker process dies on a rank fails alone and the search goes on; kill -9
# of a worker rank, and of rank 0, ends the run (Open MPI aborts it) and
# the same command resumes it with nothing trained lost and no job failed.
# --deterministic: 1 and 2 worker ranks, and 2 local workers, train the
# same models, bit for bit.
set -u
P="$1"
. "$(dirname "$0")/lib.sh"
command -v mpirun > /dev/null || { echo "skip: no mpirun (apt-get install openmpi-bin)"; exit 77; }
# a root CI machine, and as many ranks as asked whatever the cores
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# loopback only; no warning about the interfaces of the machine
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
tiny_data "$T/d.csv"
common="--shape 1x8x8 --filters 4 --stages 2 --batch 32"
"$P" version | grep -qi "mpi" || true

# consistent: the store verifies, every queue entry is done or queued, no
# model failed, the frontier holds trained models and the counts agree
consistent() {
  "$P" verify --dir "$1" > "$T/v" 2>&1 || { echo "verify: $(tail -1 "$T/v")"; return 1; }
  "$P" status --dir "$1" --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
q = d["queues"]
assert all(v["failed"] == 0 and v["leased"] == 0 for v in q.values()), q
assert d["models"]["failed"] == 0 and d["models"]["trained"] >= int(sys.argv[1]), d["models"]
assert q["child"]["done"] == d["models"]["trained"], (q, d["models"])' "$2"
}
trained() { "$P" frontier --dir "$1" --all --json 2> /dev/null | python3 -c 'import json, sys; print(" ".join(sorted(m["id"] for m in json.load(sys.stdin)["models"])))'; }

# a search of 3 ranks: rank 0 the daemon, 2 worker ranks
E="$T/run"
mpirun -np 3 "$P" search "$T/d.csv" --dir "$E" $common --jobs 10 --seed-epochs 2 > /dev/null 2> "$T/err" &&
  ok "mpirun -np 3: the search ran to its budget" || bad "mpirun -np 3: $(grep -v '^\[' "$T/err" | tail -5)"
grep -q "2 worker ranks" "$T/err" && grep -q "^rank 2: " "$T/err" && ok "2 worker ranks took the data set" ||
  bad "ranks: $(grep -m3 'rank' "$T/err")"
w0=$(grep -c "> worker 0," "$T/err"); w1=$(grep -c "> worker 1," "$T/err")
[ "$w0" -ge 1 ] && [ "$w1" -ge 1 ] && ok "both ranks ran jobs ($w0 and $w1)" || bad "jobs per rank: $w0, $w1"
consistent "$E" 4 2> "$T/e" && ok "its store is consistent" || bad "store after mpirun: $(tail -2 "$T/e")"

# a rank with another data set (MPMD: its own path) is refused
sed '1s/^0,0\.[0-9]*/0,0.999/' "$T/d.csv" > "$T/d2.csv"
cp "$T/d.test.csv" "$T/d2.test.csv"
mpirun -np 2 "$P" search "$T/d.csv" --dir "$T/other" $common --jobs 4 : -np 1 "$P" search "$T/d2.csv" --dir "$T/other" $common \
  > /dev/null 2> "$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "rank 2 refuses the search: .*d2.csv is not the search's data set (fingerprint" "$T/err" &&
  ok "a rank with another data set is refused (exit $rc)" || bad "other data set: exit $rc, $(grep -m2 'petri' "$T/err")"
[ ! -e "$T/other" ] && ok "the refused new search leaves nothing" || bad "$T/other was left"

# rank0 EXP: the daemon's pid (status); ranks MPIRUN: the pids mpirun started
rank0() { "$P" status --dir "$1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])'; }

# a job's worker process killed on a rank: that job fails, the search goes on
E="$T/job"
mpirun -np 3 "$P" search "$T/d.csv" --dir "$E" $common --jobs 6 --seed-epochs 300 > /dev/null 2> "$T/err" &
mp=$!
if wait_job "$P" "$E"; then
  r0=$(rank0 "$E"); victim=""
  for r in $(pgrep -P $mp); do [ "$r" != "$r0" ] && for c in $(pgrep -P "$r"); do victim=$c; done; done
  [ -n "$victim" ] && kill -KILL "$victim"
  wait $mp && ok "a worker process killed on a rank: the run goes on (exit 0)" || bad "run exit $?"
  grep -q "job 1 (m000001) failed: rank [12] on .*: worker process ${victim:-x} killed by signal 9" "$T/err" &&
    ok "the job failed with the rank, host and signal" || bad "no such failure: $(grep -m2 'failed' "$T/err")"
  grep -q "budget of 6 jobs spent" "$T/err" && consistent "$E" 3 2> "$T/e" && ok "and the search ran to its budget, consistent" ||
    bad "after the kill: $(tail -2 "$T/e") $(grep -v '^\[' "$T/err" | tail -2)"
else bad "no job ran"; kill $mp; wait $mp; fi

# --job-timeout on a rank: the rank kills the job's process, the job fails
E="$T/slow"
mpirun -np 2 "$P" search "$T/d.csv" --dir "$E" $common --jobs 4 --seed-epochs 1000 --job-timeout 1s > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 0 ] && [ "$(grep -c "job 1 (m000001) failed: timed out (--job-timeout): its worker process on rank 1 was killed" "$T/err")" = 3 ] &&
  ok "a job past --job-timeout on a rank: killed there, failed 3 times, the run ended cleanly" ||
  bad "--job-timeout on a rank: exit $rc, $(grep -m3 'failed\|stopped' "$T/err")"

# kill -9 of a worker rank, then of rank 0: Open MPI ends the run; the same
# command resumes it, nothing trained is lost, no job is failed for it
# (child jobs of 100 epochs: long enough, a few seconds on a fast machine,
# that a running one is seen before the search ends)
for who in "a worker rank" "rank 0"; do
  E="$T/kill$who"
  set -- mpirun -np 3 "$P" search "$T/d.csv" --dir "$E" $common --jobs 8 --seed-epochs 60 --child-epochs 100
  "$@" > /dev/null 2> "$T/err" &
  mp=$!
  # the seed trained and a later job running
  i=0; while [ $i -lt 400 ] && ! grep -q "trained m000001" "$T/err"; do sleep 0.05; i=$((i + 1)); done
  if wait_job "$P" "$E"; then
    before=$(trained "$E")
    r0=$(rank0 "$E"); victim=$r0
    [ "$who" = "rank 0" ] || for r in $(pgrep -P $mp); do [ "$r" != "$r0" ] && victim=$r; done
    kill -KILL "$victim"
    wait $mp; rc=$?
    [ $rc -ne 0 ] && ok "kill -9 of $who ($victim): Open MPI ended the run (exit $rc)" || bad "kill of $who: exit 0"
    "$@" > /dev/null 2> "$T/err2" && grep -q "budget of 8 jobs spent" "$T/err2" && ok "the same command resumed it to its budget" ||
      bad "resume after the kill of $who: $(grep -v '^\[' "$T/err2" | tail -3)"
    after=$(trained "$E")
    lost=""
    for m in $before; do echo " $after " | grep -q " $m " || lost="$lost $m"; done
    [ -n "$before" ] && [ -z "$lost" ] && ok "nothing trained was lost ($(echo $before | wc -w) models before, $(echo $after | wc -w) after)" ||
      bad "lost:$lost (before: $before)"
    consistent "$E" 4 2> "$T/e" && ok "the store is consistent, no job failed" || bad "after the kill of $who: $(tail -2 "$T/e")"
  else bad "kill of $who: no job ran"; kill $mp; wait $mp; fi
done
# --deterministic: the same models with 1 and 2 worker ranks as with 2 local workers
for r in 2 3; do
  mpirun -np $r "$P" search "$T/d.csv" --dir "$T/det$r" $common --jobs 12 --seed-epochs 2 --deterministic --quiet \
    > /dev/null 2> "$T/err" || bad "deterministic, $r ranks: $(tail -2 "$T/err")"
  models_digest "$P" "$T/det$r" "$T/d.csv" 1x8x8 > "$T/det$r.txt"
done
"$P" search "$T/d.csv" --dir "$T/detw" $common --workers 2 --jobs 12 --seed-epochs 2 --deterministic --quiet > /dev/null 2>&1
models_digest "$P" "$T/detw" "$T/d.csv" 1x8x8 > "$T/detw.txt"
n=$(wc -l < "$T/det2.txt")
[ "$n" -ge 5 ] && cmp -s "$T/det2.txt" "$T/det3.txt" && cmp -s "$T/det2.txt" "$T/detw.txt" &&
  ok "--deterministic: 1 rank, 2 ranks and 2 local workers trained the same $n models" ||
  bad "--deterministic across ranks: $n models; $(diff "$T/det2.txt" "$T/det3.txt" | head -4) $(diff "$T/det2.txt" "$T/detw.txt" | head -4)"
finish mpi
