#!/bin/sh
# load_serve.sh [MODELS] [SECONDS] - how petri serve holds up under load.
#   1. writes a synthetic experiment of MODELS trained models (default
#      100000; tests/mkexp --models), serves it, and runs wrk against
#      /api/frontier (the hull and band) and /api/frontier?all=1 (every
#      model) for SECONDS each (default 10): requests/s and p99 latency;
#   2. runs a tiny real search for SECONDS alone, then again while wrk
#      loads the server, and prints its progress in jobs/min both ways.
# Not a test: it prints figures. The machine is shared: keep it short.
#   PETRI_BUILD  the build (default build/)
set -eu
cd "$(dirname "$0")/.."
N=${1:-100000}
S=${2:-10}
B=${PETRI_BUILD:-build}
P=$B/petri
command -v wrk > /dev/null || { echo "load_serve: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$P" ] && [ -x "$B/mkexp" ] || { echo "load_serve: build first (sh tools/setup.sh)" >&2; exit 1; }
T=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill $srv 2> /dev/null; rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1

echo "load_serve: writing $N synthetic models" >&2
mkdir -p "$T/exps"
"$B/mkexp" "$T/exps/big" --models "$N" > /dev/null
"$P" serve --dir "$T/exps" --port 0 --quiet > "$T/url" &
srv=$!
i=0; while ! grep -q "http://" "$T/url" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
U=$(grep -o 'http://[^ ]*' "$T/url")
echo "models: $(du -sh "$T/exps/big" | cut -f1) store, $(curl -s "${U}api/frontier?exp=big" | grep -o '"points": [0-9]*')"

# first answer (the store read in a child), then wrk on the cached one
bench() { # name url
  t0=$(date +%s.%N)
  curl -s -o "$T/b" "$2"
  t1=$(date +%s.%N)
  wrk -t2 -c8 -d"${S}s" --latency "$2" > "$T/wrk" 2>&1
  printf "%-22s first answer %6.3f s, %8d bytes; wrk: %s requests/s, p99 %s\n" "$1" \
    "$(awk "BEGIN { print $t1 - $t0 }")" "$(stat -c %s "$T/b")" \
    "$(sed -n 's/^Requests\/sec: *//p' "$T/wrk")" "$(sed -n 's/^ *99% *//p' "$T/wrk")"
}
bench "/api/frontier" "${U}api/frontier?exp=big"
bench "/api/frontier?all=1" "${U}api/frontier?exp=big&all=1"
bench "/api/status" "${U}api/status?exp=big"
echo "(no gzip: the answers are sent as they are)"

# a tiny search alone, then beside wrk
awk 'BEGIN { srand(7); for (i = 0; i < 600; i++) { c = i % 3; printf "%d", c;
  for (r = 0; r < 8; r++) for (q = 0; q < 8; q++) { v = rand() * 0.3;
    if (c == 0 && r < 3) v += 0.5; if (c == 1 && q < 3) v += 0.5; if (c == 2 && r > 4 && q > 4) v += 0.5;
    printf ",%.3f", v } printf "\n" } }' > "$T/d.csv"
head -150 "$T/d.csv" > "$T/d.test.csv"
search() { # dir: jobs done in S seconds
  "$P" search "$T/d.csv" --shape 1x8x8 --dir "$1" --budget "${S}s" --workers 1 --filters 4 --stages 2 \
    --seed-epochs 1 --cand-epochs 0.3 --child-epochs 0.5 --batch 32 --quiet > /dev/null 2>&1
  "$P" status --dir "$1" --json | sed -n 's/.*"jobs_done": \([0-9]*\).*/\1/p'
}
a=$(search "$T/exps/alone")
wrk -t1 -c4 -d"$((S + 5))s" "${U}api/frontier?exp=big" > /dev/null 2>&1 &
w=$!
b=$(search "$T/exps/loaded")
wait $w
echo "tiny search, $S s: alone $a jobs ($((a * 60 / S)) jobs/min); beside wrk on /api/frontier $b jobs ($((b * 60 / S)) jobs/min)"
