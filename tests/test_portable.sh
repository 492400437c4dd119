#!/bin/sh
# test_portable.sh PETRI TEST_KERNELS - the one default build on x86-64 CPUs
# older than this one, emulated by qemu-x86_64: Haswell (AVX2 + FMA, no
# AVX-512) and Nehalem (no AVX at all). The dispatch must pick the best the
# emulated CPU has, refuse a PETRI_ISA it lacks, and the kernels must pass
# there (no instruction beyond the emulated CPU anywhere they run).
set -u
P="$1"
K="$2"
. "$(dirname "$0")/lib.sh"
command -v qemu-x86_64 > /dev/null 2>&1 || { echo "skipped: qemu-x86_64 is not installed (apt-get install qemu-user)"; exit 77; }
q() { cpu=$1; shift; qemu-x86_64 -cpu "$cpu" "$@" 2> "$T/qerr"; }

for c in "Haswell avx2" "Nehalem generic"; do
  set -- $c
  cpu=$1 isa=$2
  if q "$cpu" "$P" version --json > "$T/v"; then
    grep -q "\"isa\": \"$isa\"" "$T/v" && ok "$cpu: petri picks $isa" || bad "$cpu: petri version says $(cat "$T/v")"
  else bad "$cpu: petri version failed: $(grep -v TCG "$T/qerr")"; fi
  out=$(q "$cpu" "$K" "$isa" --quick | tail -1)
  [ "$out" = "${out% 0 failed}" ] && bad "$cpu: test_kernels $isa: $out $(grep -v TCG "$T/qerr" | head -3)" || ok "$cpu: test_kernels $isa --quick: $out"
done
PETRI_ISA=avx512 q Haswell "$P" version > "$T/o"; rc=$?
[ $rc -eq 2 ] && grep -q "not supported by this CPU" "$T/qerr" && ok "Haswell: PETRI_ISA=avx512 refused (exit 2)" ||
  bad "Haswell: PETRI_ISA=avx512: exit $rc, $(grep -v TCG "$T/qerr")"
PETRI_ISA=avx2 q Nehalem "$P" version > "$T/o"; rc=$?
[ $rc -eq 2 ] && grep -q "not supported by this CPU" "$T/qerr" && ok "Nehalem: PETRI_ISA=avx2 refused (exit 2)" ||
  bad "Nehalem: PETRI_ISA=avx2: exit $rc, $(grep -v TCG "$T/qerr")"
q Haswell "$K" avx512 > "$T/o"; rc=$?
[ $rc -eq 77 ] && ok "Haswell: the avx512 kernel test skips: $(cat "$T/o")" || bad "Haswell: test_kernels avx512 exit $rc"
finish portable
