#!/bin/sh
# soak.sh [KILLS] [JOBS] - the search crash test at length: kill -9 the daemon
# KILLS times (default 100) at moments spread over searches of JOBS jobs
# (default 200; JOBS/10 kills per search, a third of them inside store
# commits, frontier writes and checkpoints), restarting it each time, on a
# synthetic data set; after every kill the store must verify with nothing
# trained lost, and every search must complete its budget. The last line
# gives the kills, lost models, failed jobs and the time (tests/crash_search.c).
# The daemon runs 2 workers of 1 thread.
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
K=${1:-100}
J=${2:-200}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
awk 'BEGIN { srand(5); for (i = 0; i < 2000; i++) { c = i % 3; printf "%d", c; for (j = 0; j < 64; j++) { v = rand() * 0.3; if (c == 0 && j < 24) v += 0.5; if (c == 1 && j % 8 < 3) v += 0.5; printf ",%.3f", v } printf "\n" } }' > "$T/d.csv"
build/crash_search build/petri "$T/d.csv" 1x8x8 "$K" "$J"
