#!/bin/bash
# test_serve_api.sh PETRI - petri serve's JSON API on a tiny search, while
# the daemon runs and after: every endpoint, bad parameters (400 JSON),
# paths that try to leave the experiment, unknown paths (404), a bind off
# loopback without --allow-remote (refused), raw garbage, huge headers and
# bad methods; the server still answers after all of it. /api/pick equals
# 'petri pick --json' for the same limits; /api/export's ONNX runs in ONNX
# Runtime with the logits of 'petri predict'; a damaged store is a 500 JSON
# error, not a dead server. bash: the raw requests use /dev/tcp.
set -u
P="$1"
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export OMP_NUM_THREADS=1
awk 'BEGIN { srand(7); for (i = 0; i < 300; i++) { c = i % 3; printf "%d", c;
  for (r = 0; r < 8; r++) for (q = 0; q < 8; q++) { v = rand() * 0.3;
    if (c == 0 && r < 3) v += 0.5; if (c == 1 && q < 3) v += 0.5; if (c == 2 && r > 4 && q > 4) v += 0.5;
    printf ",%.3f", v } printf "\n" } }' > "$T/d.csv"
head -60 "$T/d.csv" > "$T/d.test.csv"
mkdir -p "$T/exps"
E="$T/exps/tiny"
SEARCH="--shape 1x8x8 --workers 1 --filters 4 --stages 2 --seed-epochs 1 --cand-epochs 0.3 --child-epochs 0.5 --batch 32 --quiet"
# shellcheck disable=SC2086
"$P" search "$T/d.csv" --dir "$E" --jobs 4 $SEARCH > /dev/null 2> "$T/s1" && ok "a tiny search ran" ||
  { bad "search: $(tail -3 "$T/s1")"; finish serve_api; exit; }
E=$(realpath "$E")

"$P" serve --dir "$T/exps" --port 0 --quiet > "$T/url" 2> "$T/serr" &
srv=$!
i=0; while ! grep -q "http://" "$T/url" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T/url")
[ -n "$PORT" ] && ok "serve listens on 127.0.0.1:$PORT" || { bad "serve did not start: $(cat "$T/serr")"; finish serve_api; exit; }
B="http://127.0.0.1:$PORT"
n0=$(curl -s "$B/api/frontier?exp=tiny&all=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["points"])')
# a second search on the same directory runs while the server answers
"$P" search --dir "$E" --jobs 12 --quiet > /dev/null 2> "$T/s2" &
spid=$!
cleanup() { kill "$srv" 2> /dev/null; kill "$spid" 2> /dev/null; wait 2> /dev/null; rm -rf "$T"; }
trap cleanup EXIT

# get PATH: the status code in $code, the body in $T/body
get() { code=$(curl -s --path-as-is -o "$T/body" -w '%{http_code}' "$B$1"); }
isjson() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2> /dev/null; }
# expect CODE PATH [PATTERN]: the status, a JSON body (an error for 4xx/5xx), the pattern in it
expect() {
  want=$1 path=$2 pat=${3:-}
  get "$path"
  if [ "$code" != "$want" ]; then bad "$path: $code, not $want: $(head -c 300 "$T/body")"; return; fi
  if ! isjson "$T/body"; then bad "$path: not JSON: $(head -c 300 "$T/body")"; return; fi
  if [ "$want" -ge 400 ] && ! grep -q '^{"error": ' "$T/body"; then bad "$path: no {\"error\": ...}: $(cat "$T/body")"; return; fi
  if [ -n "$pat" ] && ! grep -q -- "$pat" "$T/body"; then bad "$path: no '$pat' in $(head -c 300 "$T/body")"; return; fi
  ok "$path: $code"
}

# ---- every endpoint ----
expect 200 "/api/experiments" '"name": "tiny"'
expect 200 "/api/status?exp=tiny" '"queues"'
expect 200 "/api/frontier?exp=tiny" '"models"'
expect 200 "/api/frontier?exp=tiny&all=1" '"order"'
get "/"
[ "$code" = 200 ] && grep -q "<svg id=\"plot\"" "$T/body" && ok "/ serves the page" || bad "/: $code"
id=$("$P" frontier --dir "$E" --all --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][-1]["id"])')
expect 200 "/api/model?exp=tiny&id=$id" '"omega_ranking"'
python3 - "$T/body" "$id" <<'PY' && ok "model card of $id: lineage, costs, accuracies" || bad "model card: $(cat "$T/body")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["id"] == sys.argv[2] and c["lineage"][-1] == c["id"]
assert c["cost"]["macs"] > 0 and 0 <= c["metrics"]["val_acc"] <= 1
if c["parent"]:
    assert c["lineage"][-2] == c["parent"] and len(c["lineage"]) == c["depth"] + 1
    assert c["added"], "a grown child adds layers"
PY
# every trained model's card: a grown child has the omega ranking of the
# candidate job that made it (its chosen pairs are what growth added, as
# the lineage says: "op(input)+... -> target") and its training curve; the
# first model has neither, and says so
n=0; for m in $("$P" frontier --dir "$E" --all --json | grep -o '"id": "[^"]*"' | cut -d'"' -f4); do
  get "/api/model?exp=tiny&id=$m"; [ "$code" = 200 ] || { bad "card of $m: $code"; continue; }
  python3 - "$T/body" <<'PY' && n=$((n + 1)) || bad "card of $m: $(cat "$T/body")"
import json, sys
c = json.load(open(sys.argv[1]))
if not c["parent"]:
    assert c["omega_ranking"] is None and "omega_ranking" in c["not_stored"], "the first model has no ranking"
    sys.exit(0)
r = c["omega_ranking"]
assert r and r["parent"] == c["parent"] and r["pairs"] >= len(r["ranking"]) > 0
w = [abs(p["omega"]) for p in r["ranking"]]
assert w == sorted(w, reverse=True), "ranked by |omega|"
chosen = sorted("%s(%d) -> %d" % (p["op"], p["input"], p["target"]) for p in r["ranking"] if p["chosen"])
ops, target = c["grown"].split(" -> ")
grown = sorted("%s -> %s" % (o, target) for o in ops.split("+"))
assert chosen == grown, (chosen, grown)
cv = c["curve"]
assert cv and len(cv["points"]) >= 1 and cv["steps"] >= 1 and cv["first_step"] >= 0
assert all(p[1] == p[1] and p[1] >= 0 for p in cv["points"]), "losses are numbers"
PY
done
[ $n -ge 2 ] && ok "$n model cards: grown children with their omega ranking and curve" || bad "only $n model cards"

# the limits of the pick comparisons below
"$P" frontier --dir "$E" --all --json > "$T/fr"

# ---- export: a download that runs ----
curl -s -D "$T/hdr" -o "$T/m.onnx" "$B/api/export?exp=tiny&id=$id&format=onnx"
grep -qi "content-disposition: attachment; filename=\"tiny-$id.onnx\"" "$T/hdr" && ok "export is a download" || bad "export headers: $(cat "$T/hdr")"
curl -s -o "$T/m.petri" "$B/api/export?exp=tiny&id=$id&format=petri"
"$P" inspect "$T/m.petri" > /dev/null 2>&1 && ok "export format=petri is a model file" || bad "exported petri file"
"$P" predict "$T/m.petri" "$T/d.csv" --shape 1x8x8 --rows 20 -o "$T/petri.csv" > /dev/null 2>&1
if node "$ROOT/tests/onnx_ort.js" "$T/m.onnx" "$T/d.test.csv" 20 "$T/ort.csv" 1x8x8 > /dev/null 2> "$T/orte"; then
  python3 "$ROOT/tests/onnx_compare.py" "$T/petri.csv" "$T/ort.csv" 1e-4 > "$T/cmp" && ok "exported ONNX runs in ONNX Runtime: $(cat "$T/cmp")" ||
    bad "ONNX Runtime logits differ: $(cat "$T/cmp")"
else bad "ONNX Runtime: $(cat "$T/orte")"; fi

# ---- bad requests: 4xx JSON ----
expect 400 "/api/status"
expect 400 "/api/status?exp="
expect 404 "/api/status?exp=nope"
expect 400 "/api/frontier?exp=tiny&all=2"
expect 400 "/api/frontier?exp=tiny&bogus=1" "unknown parameter"
expect 400 "/api/pick?exp=tiny&max_params=abc" "max_params"
expect 400 "/api/pick?exp=tiny&max_params=-5"
expect 400 "/api/pick?exp=tiny&max_latency_ms=nan"
expect 400 "/api/pick?exp=tiny&max_macs=0x10"
expect 400 "/api/pick?exp=tiny&max_mflops=1e-12" "below one multiply-add"
expect 400 "/api/pick?exp=tiny&metric=train"
expect 400 "/api/model?exp=tiny"
expect 404 "/api/model?exp=tiny&id=m999999"
expect 400 "/api/export?exp=tiny&id=$id"
expect 400 "/api/export?exp=tiny&id=$id&format=zip"
expect 404 "/api/experiment"
expect 404 "/api/"
expect 404 "/index.htm"
expect 404 "/favicon.ico"
# ---- traversal: no name from the request reaches the file system ----
expect 404 "/api/status?exp=../tiny"
expect 404 "/api/status?exp=%2e%2e%2ftiny"
expect 404 "/api/status?exp=$E"
expect 404 "/api/status?exp=%2Fetc"
expect 404 "/api/status?exp=tiny/../tiny"
expect 400 "/api/model?exp=tiny&id=../../etc/passwd"
expect 400 "/api/model?exp=tiny&id=%2e%2e%2fdata.mdb"
expect 400 "/api/model?exp=tiny&id=/etc/passwd"
expect 400 "/api/export?exp=tiny&id=..&format=petri"
expect 400 "/api/model?exp=tiny&id=.hidden"
expect 400 "/api/model?exp=tiny&id=m%00x"
expect 400 "/api/model?exp=tiny&id=m000001&id=m000002" "given twice"
expect 400 "/api/pick?exp=tiny&max_params=$(printf '9%.0s' $(seq 1 600))" "too long"
expect 404 "/../../etc/passwd"
expect 404 "/%2e%2e/%2e%2e/etc/passwd"
expect 404 "/api/../../etc/passwd"
get "/api/export?exp=tiny&id=data.mdb&format=petri"
[ "$code" = 404 ] && ok "export of a file name is no model: 404" || bad "export id=data.mdb: $code"

# ---- malformed requests over a raw socket ----
raw() { # raw BYTES...: send them, read what comes back (at most 3 s)
  exec 3<> "/dev/tcp/127.0.0.1/$PORT" || return
  # the server may close before all is sent: EPIPE, not a SIGPIPE that ends this script
  (trap '' PIPE; printf "$@" >&3) 2> /dev/null
  timeout 3 cat <&3 > "$T/raw" 2> /dev/null
  exec 3<&- 3>&-
}
raw 'GARBAGE\r\n\r\n';                          ok "garbage line: $(head -1 "$T/raw" | tr -d '\r')"
raw 'GET\r\n\r\n';                              ok "request line without a path: $(head -1 "$T/raw" | tr -d '\r')"
raw 'FROB / HTTP/1.1\r\nHost: x\r\n\r\n';        grep -q "^HTTP/1.1 405" "$T/raw" && ok "unknown method: 405" || bad "unknown method: $(head -1 "$T/raw")"
raw 'POST /api/status?exp=tiny HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
grep -q "^HTTP/1.1 405" "$T/raw" && ok "POST: 405" || bad "POST: $(head -1 "$T/raw")"
raw 'DELETE /api/status?exp=tiny HTTP/1.1\r\nHost: x\r\n\r\n'
grep -q "^HTTP/1.1 405" "$T/raw" && ok "DELETE: 405" || bad "DELETE: $(head -1 "$T/raw")"
raw 'GET /api/status?exp=tiny HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'; ok "negative Content-Length: $(head -1 "$T/raw" | tr -d '\r')"
raw 'GET / HTTP/9.9\r\n\r\n';                   ok "HTTP/9.9: $(head -1 "$T/raw" | tr -d '\r')"
raw '\x00\x01\x02\xff\xfe\r\n\r\n';             ok "binary bytes: $(head -1 "$T/raw" | tr -d '\r')"
raw 'GET /api/status?exp=tiny HTTP/1.1\r\n';    ok "request cut short"
big=$(head -c 100000 /dev/zero | tr '\0' a)
raw "GET / HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n"
grep -q "^HTTP/1.1 431" "$T/raw" && ok "a 100 kB header: 431" || ok "a 100 kB header: $(head -1 "$T/raw" | tr -d '\r') (connection closed)"
hdrs=""; for k in $(seq 1 2000); do hdrs="${hdrs}X-H$k: v\r\n"; done
raw "GET / HTTP/1.1\r\nHost: x\r\n${hdrs}\r\n"; ok "2000 headers: $(head -1 "$T/raw" | tr -d '\r')"
curl -s -o /dev/null -w '%{http_code}' "$B/api/frontier?exp=tiny&$(head -c 20000 /dev/zero | tr '\0' x)=1" > "$T/c"
ok "a 20 kB query: $(cat "$T/c")"
kill -0 $srv 2> /dev/null && ok "the server survived the malformed requests" || bad "the server died"
expect 200 "/api/experiments" '"tiny"'

# ---- a damaged store: 500 with a JSON error, the server lives ----
mkdir -p "$T/exps/cut" "$T/exps/flip"
cp "$E/data.mdb" "$T/exps/flip/data.mdb"
head -c 8192 "$E/data.mdb" > "$T/exps/cut/data.mdb"
# every page past the two meta pages gets a wrong page number and flags
pages=$(($(stat -c %s "$T/exps/flip/data.mdb") / 4096))
for pg in $(seq 2 $((pages - 1))); do
  printf '\377\377\377\377\377\377\377\377\377\377\377\377' | dd of="$T/exps/flip/data.mdb" bs=1 seek=$((pg * 4096)) conv=notrunc 2> /dev/null
done
n500=0
expect 500 "/api/status?exp=cut" "cut short"
for u in status frontier "frontier&all=1" "pick" "model&id=$id" ; do
  get "/api/$(echo "$u" | cut -d'&' -f1)?exp=flip$(echo "$u" | grep -o '&.*')"
  case $code in
  200) isjson "$T/body" && ok "damaged store, /api/$u: 200 (the damage is elsewhere)" || bad "flip $u: 200 not JSON" ;;
  500) n500=$((n500 + 1)); grep -q '^{"error": ' "$T/body" && ok "damaged store, /api/$u: 500 $(head -c 100 "$T/body")" || bad "flip $u: 500 without JSON" ;;
  *) bad "damaged store, /api/$u: $code $(head -c 200 "$T/body")" ;;
  esac
done
[ $n500 -ge 1 ] && ok "$n500 answers on the damaged store were 500" || bad "the damaged store gave no 500"
kill -0 $srv 2> /dev/null && ok "the server survived the damaged stores" || bad "the server died on a damaged store"

# ---- after the daemon: pick equals the CLI exactly ----
wait $spid; spid=
expect 200 "/api/status?exp=tiny" '"alive": false'
get "/api/frontier?exp=tiny&all=1"
n1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["points"])' "$T/body")
n2=$("$P" frontier --dir "$E" --all --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["points"])')
[ "$n1" -gt "$n0" ] && [ "$n1" = "$n2" ] && ok "models trained while serving are served: $n0 -> $n1 (petri frontier: $n2)" ||
  bad "frontier while serving: $n0 -> $n1, petri frontier $n2"
for lim in "" "max_params=$(python3 -c 'import json; m=json.load(open("'"$T/fr"'"))["models"]; print(sorted(x["params"] for x in m)[len(m)//2])')" \
           "max_macs=$(python3 -c 'import json; m=json.load(open("'"$T/fr"'"))["models"]; print(min(x["macs"] for x in m))')" \
           "max_mflops=0.2&max_mem=1M" "max_params=1" "max_latency_ms=0.05&metric=test"; do
  opts=$(echo "$lim" | tr '&' '\n' | sed -n 's/^max_\([a-z_]*\)=\(.*\)/--max-\1 \2/p;s/^metric=\(.*\)/--metric \1/p' | sed 's/--max-mem /--max-memory /;s/--max-latency_ms/--max-latency-ms/')
  # shellcheck disable=SC2086
  "$P" pick --dir "$E" --json $opts > "$T/cli" 2> /dev/null
  get "/api/pick?exp=tiny&$lim"
  [ "$code" = 200 ] && cmp -s "$T/cli" "$T/body" && ok "/api/pick?$lim = petri pick --json $opts" ||
    bad "/api/pick?$lim ($code): $(cat "$T/body") vs petri pick: $(cat "$T/cli")"
done

# ---- binding off loopback ----
expect_fail "--bind 0.0.0.0 without --allow-remote" "not a loopback address" "$P" serve --dir "$E" --bind 0.0.0.0 --port 0
expect_fail "--bind :: without --allow-remote" "not a loopback address" "$P" serve --dir "$E" --bind :: --port 0
expect_fail "--bind of a host name" "not an IPv4 or IPv6 address" "$P" serve --dir "$E" --bind localhost.example
expect_fail "--dir missing" "no such file" "$P" serve --dir "$T/none" --port 0
expect_fail "no --dir" "required" "$P" serve --port 0
"$P" serve --dir "$E" --bind 0.0.0.0 --allow-remote --port 0 > "$T/url2" 2> "$T/err2" &
rpid=$!
i=0; while ! grep -q "http://" "$T/url2" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "warning: serving on 0.0.0.0, not loopback" "$T/err2" && ok "--allow-remote: serves, with a warning" || bad "--allow-remote: $(cat "$T/err2")"
kill $rpid; wait $rpid 2> /dev/null
"$P" serve --help | grep -q -- "--allow-remote" && ok "serve --help" || bad "serve --help"
kill -0 $srv 2> /dev/null && ok "the server still answers at the end" || bad "the server is gone"
kill $srv; wait $srv; rc=$?
[ $rc = 0 ] && ok "SIGTERM stops the server, exit 0" || bad "server exit $rc"
finish serve_api
