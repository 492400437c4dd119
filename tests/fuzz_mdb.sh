#!/bin/sh
# fuzz_mdb.sh PETRI MKEXP [SECONDS] [SEED] - damaged stores, whole data.mdb
# mutations: a small real store (written by MKEXP) is cut short, has bytes
# flipped, pages zeroed or overwritten with another page, and each result
# goes through 'petri verify' and the commands that read a store (status,
# frontier, pick, export). None may die of a signal, hang (10 s), or exit
# with a code other than its documented ones; verify must call every
# mutated store that a reader fails on damaged. Runs for SECONDS (default
# 60); a failing store is kept in $PETRI_FUZZ_DIR (default build-fuzz) as
# mdb-SEED/ with the command that failed.
set -u
P="$1"
M="$2"
secs=${3:-60}
seed=${4:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
OUT=${PETRI_FUZZ_DIR:-build-fuzz}
# in a sanitizer build, a SIGSEGV or SIGBUS inside liblmdb stays a signal
# (petri reports a reader's death); any other report fails the run
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}handle_segv=0:handle_sigbus=0:detect_leaks=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}print_stacktrace=1"
. "$(dirname "$0")/lib.sh"
"$M" "$T/orig" > /dev/null || { echo "FAIL mkexp"; exit 1; }
"$P" verify --dir "$T/orig" > /dev/null || { echo "FAIL verify of the intact store"; exit 1; }
rm -f "$T/orig/lock.mdb"

# mutate SEED SRC DST: one damaged copy of SRC
mutate() {
  python3 - "$1" "$2" "$3" <<'EOF'
import random, sys
seed, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
r = random.Random(seed)
d = bytearray(open(src, 'rb').read())
ps = 4096
npg = len(d) // ps
kind = r.choice(['cut', 'flip', 'flip', 'zero', 'page', 'meta', 'mix'])
def flip(n):
    for _ in range(n):
        i = r.randrange(len(d))
        d[i] ^= 1 << r.randrange(8)
if kind == 'cut':
    d = d[:r.randrange(len(d))]
elif kind == 'flip':
    flip(r.choice([1, 2, 5, 50, 500]))
elif kind == 'zero':
    p = r.randrange(npg)
    d[p * ps:(p + 1) * ps] = bytes(ps)
elif kind == 'page':
    a, b = r.randrange(2, npg), r.randrange(2, npg)
    d[a * ps:(a + 1) * ps] = d[b * ps:(b + 1) * ps]
elif kind == 'meta':
    p = r.randrange(2)
    for _ in range(r.choice([1, 3, 10])):
        i = p * ps + r.randrange(16, 160)
        d[i] = r.randrange(256)
else:
    flip(10)
    d = d[:r.randrange(len(d) // 2, len(d) + 1)]
open(dst, 'wb').write(d)
print(kind)
EOF
}

# one command on the damaged store: a signal, a hang or an undocumented exit
# code is a failure; CODES lists the allowed exit codes
try() {
  codes=$1; shift
  timeout 10 "$@" > "$T/o" 2> "$T/e"; rc=$?
  # a sanitizer's report is a failure whatever the exit code
  if grep -q "AddressSanitizer\|runtime error:\|LeakSanitizer" "$T/e"; then rc=999; fi
  case " $codes " in *" $rc "*) return 0 ;; esac
  if [ $rc -eq 999 ]; then why="sanitizer report"; elif [ $rc -eq 124 ]; then why="hung"; elif [ $rc -ge 128 ]; then why="died of signal $((rc - 128))"; else why="exit $rc"; fi
  mkdir -p "$OUT/mdb-$s"
  cp "$T/d/data.mdb" "$OUT/mdb-$s/"
  echo "$* ($kind): $why" | tee "$OUT/mdb-$s/command"
  sed 's/^/  stderr: /' "$T/e" | head -12
  fails=$((fails + 1))
  return 1
}

start=$(date +%s)
n=0
s=$seed
while [ $(($(date +%s) - start)) -lt "$secs" ]; do
  rm -rf "$T/d" "$T/x.petri" "$T/new"
  mkdir "$T/d"
  kind=$(mutate "$s" "$T/orig/data.mdb" "$T/d/data.mdb")
  try "0 1" "$P" verify --dir "$T/d"; vrc=$rc
  try "0 1" "$P" status --dir "$T/d"; src=$rc
  try "0 1" "$P" frontier --dir "$T/d" --json
  try "0 1 3" "$P" pick --dir "$T/d" -o "$T/x.petri"
  try "0 1" "$P" export m000002 --dir "$T/d" -o "$T/x.petri"
  if [ "$vrc" -eq 0 ] && [ "$src" -ne 0 ]; then
    echo "seed $s ($kind): verify says ok, status fails: $(head -1 "$T/e")"
    fails=$((fails + 1))
  fi
  try "0 1" "$P" salvage --dir "$T/d" -o "$T/new"
  if [ -f "$T/new/data.mdb" ]; then
    try "0" "$P" verify --dir "$T/new" || echo "  (the salvaged store of seed $s)"
  fi
  n=$((n + 1))
  s=$((s + 1))
done
echo "fuzz_mdb: $n damaged stores from seed $seed in ${secs}s, $fails failures"
[ $fails -eq 0 ]
