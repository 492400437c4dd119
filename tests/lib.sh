# lib.sh - shared by the shell tests (sourced): a scratch directory $T
# removed at exit, ok/bad counters, expect_fail, and finish.
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
