# lib.sh - shared by the shell tests (sourced): a scratch directory $T
# removed at exit, ok/bad counters, expect_fail, finish, a tiny data set,
# waiting for a running job, and the digest of a search's models.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
# expect_fail NAME PATTERN COMMAND...: the command must exit non-zero (not by
# a signal) and print PATTERN (case-insensitive) on stderr
expect_fail() {
  name=$1; pat=$2; shift 2
  "$@" > "$T/o" 2> "$T/e"; rc=$?
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  [ $rc -ge 128 ] && { bad "$name: killed by signal $((rc - 128))"; return; }
  grep -qi -- "$pat" "$T/e" && ok "$name (exit $rc)" || bad "$name: message was: $(cat "$T/e")"
}
# finish WHAT: the summary line, and the exit status
finish() {
  [ $fails -eq 0 ] && echo "all $1 tests passed" || echo "$fails $1 test(s) failed"
  [ $fails -eq 0 ]
}
# models_digest PETRI EXP DATA SHAPE: one line per model of the search, in id
# order: its architecture, costs but the measured latency, metrics and
# lineage (petri inspect), and a digest of its logits on DATA's test images
# (petri predict: every weight, bit for bit, shows in them)
models_digest() {
  for m in $("$1" frontier --dir "$2" --all --json | python3 -c 'import json, sys
print(" ".join(sorted(m["id"] for m in json.load(sys.stdin)["models"])))'); do
    "$1" export "$m" --dir "$2" -o "$T/digest.petri" > /dev/null || return 1
    arch=$("$1" inspect "$T/digest.petri" --json | python3 -c 'import json, sys
d = json.load(sys.stdin); d.pop("file"); d["cost"].pop("latency_ms")
print(json.dumps(d, sort_keys=True))' | md5sum | cut -c1-12)
    logits=$("$1" predict "$T/digest.petri" "$3" --shape "$4" | md5sum | cut -c1-12)
    echo "$m $arch $logits"
  done
}
# tiny_data FILE.csv: 600 images of 1x8x8 in 3 classes, each a bright
# patch of its own (a search learns them in seconds), and FILE.test.csv
# (its first 150 rows)
tiny_data() {
  awk 'BEGIN { srand(7); for (i = 0; i < 600; i++) { c = i % 3; printf "%d", c;
    for (r = 0; r < 8; r++) for (q = 0; q < 8; q++) { v = rand() * 0.3;
      if (c == 0 && r < 3) v += 0.5; if (c == 1 && q < 3) v += 0.5; if (c == 2 && r > 4 && q > 4) v += 0.5;
      printf ",%.3f", v } printf "\n" } }' > "$1"
  head -150 "$1" > "${1%.csv}.test.csv"
}
# worker_procs PID: the worker processes of the daemon PID (the children of
# its spawner, the daemon's one child)
worker_procs() { for s in $(pgrep -P "$1"); do pgrep -P "$s"; done; }
# wait_job PETRI EXP: until status shows a running job with steps done
# (20 s at most); 1 when none came
wait_job() {
  i=0
  while [ $i -lt 400 ]; do
    "$1" status --dir "$2" --json 2> /dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin); sys.exit(0 if any(j["step"] > 0 for j in d.get("jobs") or []) else 1)' 2> /dev/null && return 0
    sleep 0.05; i=$((i + 1))
  done
  return 1
}
