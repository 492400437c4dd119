#!/bin/sh
# simulate.sh [RANKS...] - how the daemon scales, measured with simulated
# searches (petri search --simulate) under mpirun on this machine: rank 0
# the daemon with its real store and frontier, every other rank a worker
# whose jobs do not train but take their modelled time.
#
# For each number of worker ranks R (default 1 2 4 8 16 32 64) a search of
# JOBS_PER_RANK x R jobs (default 20) runs on a small synthetic data set;
# its jobs take about a second each (--simulate SPEEDUP, default 0.2, of
# the model of their training time). Printed per R, from the daemon's log:
# jobs a second over the run; the efficiency, the workers' time in jobs
# over R times the run's (1: every rank always busy; the seed's job alone
# at the start and the last jobs at the end count against it); the
# daemon's own time per job (all but its waits for events), of which in
# store writes; the models in the frontier; the store's size.
#
# Then one long search (LONG_JOBS, default 20000 jobs, on LONG_RANKS ranks,
# default 8) with fast jobs (speed-up LONG_SPEEDUP, default 50), its
# parents at most LONG_DEPTH (default 12) growth steps deep: the synthetic
# accuracy keeps every child in the frontier's band, so without a ceiling
# one chain of ever deeper models would grow; with it the frontier fills
# with siblings. Printed: the daemon's time per job over each 1000 jobs as
# its frontier grows, and the store's size. Set LONG_JOBS=0 to skip it.
#
# Scratch in $PETRI_SIM_DIR (default /tmp/petri-sim); needs Open MPI.
set -eu
cd "$(dirname "$0")/.."
P=${PETRI:-build/petri}
D=${PETRI_SIM_DIR:-/tmp/petri-sim}
JPR=${JOBS_PER_RANK:-20}
SPEEDUP=${SPEEDUP:-0.2}
LONG_JOBS=${LONG_JOBS:-20000}
LONG_RANKS=${LONG_RANKS:-8}
LONG_SPEEDUP=${LONG_SPEEDUP:-50}
LONG_DEPTH=${LONG_DEPTH:-12}
ranks=${*:-1 2 4 8 16 32 64}
command -v mpirun > /dev/null || { echo "simulate.sh: no mpirun (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
[ -x "$P" ] || { echo "simulate.sh: $P not built (sh tools/setup.sh)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
rm -rf "$D"
mkdir -p "$D"
# 20000 rows of 1x8x8 in 3 classes: reading it is quick on every rank
awk 'BEGIN { srand(11); for (i = 0; i < 20000; i++) { c = i % 3; printf "%d", c;
  for (r = 0; r < 8; r++) for (q = 0; q < 8; q++) { v = rand() * 0.3;
    if (c == 0 && r < 3) v += 0.5; if (c == 1 && q < 3) v += 0.5; if (c == 2 && r > 4 && q > 4) v += 0.5;
    printf ",%.3f", v } printf "\n" } }' > "$D/d.csv"
head -500 "$D/d.csv" > "$D/d.test.csv"
common="$D/d.csv --shape 1x8x8 --filters 4 --stages 2 --batch 32 --seed-epochs 1 --quiet"

# stats EXP: "jobs seconds daemon_ms store_ms frontier busy cpu_ms" from
# the daemon's last line in its log
stats() {
  grep " daemon time: " "$1/log" | tail -1 | sed 's/.*daemon time: \([0-9.]*\) ms a job over \([0-9]*\) jobs, \([0-9.]*\) ms of it in store writes; workers busy \([0-9.]*\) s in \([0-9.]*\) s; frontier \([0-9]*\) models; the loop.s CPU \([0-9.]*\) ms a job.*/\2 \5 \1 \3 \6 \4 \7/'
}

echo "ranks  jobs  seconds  jobs/s  efficiency  daemon ms/job  store ms/job  CPU ms/job  frontier  store MB"
for r in $ranks; do
  E="$D/r$r"
  jobs=$((JPR * r))
  mpirun -np $((r + 1)) "$P" search $common --dir "$E" --jobs "$jobs" --simulate "$SPEEDUP" > "$D/r$r.out" 2>&1 ||
    { echo "simulate.sh: the run with $r ranks failed:" >&2; tail -5 "$D/r$r.out" >&2; exit 1; }
  set -- $(stats "$E")
  rate=$(python3 -c "print(f'{$1 / $2:.2f}')")
  eff=$(python3 -c "print(f'{$6 / ($2 * $r):.2f}')")
  mb=$(du -m "$E/data.mdb" | cut -f1)
  printf "%5d %5d %8.1f %7s %11s %14s %13s %11s %9s %9s\n" "$r" "$1" "$2" "$rate" "$eff" "$3" "$4" "$7" "$5" "$mb"
done

[ "$LONG_JOBS" -gt 0 ] || exit 0
echo
echo "a long search: $LONG_JOBS jobs on $LONG_RANKS ranks (--simulate $LONG_SPEEDUP): the daemon's time as the frontier grows"
E="$D/long"
# in slices of 1000 jobs: each slice's daemon time a job, with the frontier it reached
echo "jobs  frontier  daemon ms/job  store ms/job  CPU ms/job  efficiency  store MB  seconds"
n=0
while [ $n -lt "$LONG_JOBS" ]; do
  n=$((n + 1000))
  mpirun -np $((LONG_RANKS + 1)) "$P" search $common --dir "$E" --jobs "$n" --simulate "$LONG_SPEEDUP" \
    --max-depth "$LONG_DEPTH" > "$D/long.out" 2>&1 ||
    { echo "simulate.sh: the long run failed at $n jobs:" >&2; tail -5 "$D/long.out" >&2; exit 1; }
  set -- $(stats "$E")
  eff=$(python3 -c "print(f'{$6 / ($2 * $LONG_RANKS):.2f}')")
  printf "%5d %9s %14s %13s %11s %11s %9s %8s\n" "$n" "$5" "$3" "$4" "$7" "$eff" "$(du -m "$E/data.mdb" | cut -f1)" "$2"
done
