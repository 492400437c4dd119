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
