#!/bin/sh
# soak.sh [KILLS] [JOBS] - the search crash test at length: kill -9 the daemon
# KILLS times (default 300) at random moments during a search of JOBS jobs
# (default 1000) on a synthetic data set, restarting it each time; then check
# that nothing finished was lost and that the budget completes.
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
K=${1:-300}
J=${2:-1000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
awk 'BEGIN { srand(5); for (i = 0; i < 2000; i++) { c = i % 3; printf "%d", c; for (j = 0; j < 64; j++) { v = rand() * 0.3; if (c == 0 && j < 24) v += 0.5; if (c == 1 && j % 8 < 3) v += 0.5; printf ",%.3f", v } printf "\n" } }' > "$T/d.csv"
build/crash_search build/petri "$T/d.csv" 1x8x8 "$K" "$J"
