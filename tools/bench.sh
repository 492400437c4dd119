#!/bin/sh
# bench.sh - petri vs PyTorch, side by side in one run: same Fashion-MNIST
# data (pixels / 255), same batches (train 128 with SGD momentum 0.9, infer
# 256, latency 1), same 2 cores.  For mlp, cnn-small, cnn-mid and seed it
# prints training and inference images/s and batch-1 latency of both and
# their ratios (> 1: petri faster), and petri's useful training GFLOP/s (6 x
# conv and linear multiply-adds x images/s) as a fraction of the vector FMA
# peak measured in the same run (cblas_sgemm beside it).  PyTorch runs at 1
# and at 2 threads; the better of the two is kept and shown.
#
# One table per instruction set: on a CPU with AVX-512 one native (petri on
# avx512, PyTorch as it comes) and one with both sides held to AVX2 (petri:
# PETRI_ISA=avx2; PyTorch, in a process of its own: ONEDNN_MAX_CPU_ISA=AVX2,
# ATEN_CPU_CAPABILITY=avx2; both: OPENBLAS_CORETYPE=Haswell); otherwise the
# native table only.  Takes about 6-9 minutes per table.
#
#   BENCH_ISAS=avx512,avx2  the tables to run (avx2: just that one)
#   BENCH_REPS=3       repetitions (medians are reported)
#   BENCH_SECONDS=1.5  timed seconds per measurement and side
#   BENCH_NETS=mlp,cnn-small,cnn-mid,seed
#   BENCH_JSON=1       also print every raw measurement as JSON
#   BENCH_WAIT_QUIET=S before each repetition wait up to S seconds for the
#                      other processes to leave the CPUs (default 0: don't)
#   BENCH_BUILD=0      skip tools/setup.sh (no install check, no rebuild)
#   PETRI_BUILD=build  where tools/setup.sh builds petri
#
# Installs what it needs from Debian when run as root (through tools/setup.sh);
# otherwise prints the apt-get line and exits non-zero.
set -eu
cd "$(dirname "$0")/.."
# PyTorch is Debian's python3-torch: the system interpreter, not the first
# python3 on PATH
PY=/usr/bin/python3
[ "${BENCH_BUILD:-1}" = 0 ] || sh tools/setup.sh python3-torch python3-numpy
"$PY" -c 'import torch, numpy' 2>/dev/null || {
	echo "bench: $PY cannot import torch and numpy; run as root:" >&2
	echo "  apt-get update && apt-get install -y python3-torch python3-numpy" >&2
	exit 1
}
B=${PETRI_BUILD:-build}
[ -x "$B/petri" ] || { echo "bench: $B/petri was not built" >&2; exit 1; }
V=$("$B/petri" version) || exit 2
ISA=$(echo "$V" | sed -n 's/^isa: //p')
echo "petri $(git rev-parse --short HEAD 2>/dev/null || echo '?')$([ -z "$(git status --porcelain -- nn grow tools/petri.c CMakeLists.txt 2>/dev/null)" ] || echo ' + uncommitted changes'), isa $ISA, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
set -- --petri "$B/petri" --reps "${BENCH_REPS:-3}" --seconds "${BENCH_SECONDS:-1.5}" \
	--nets "${BENCH_NETS:-mlp,cnn-small,cnn-mid,seed}" --wait-quiet "${BENCH_WAIT_QUIET:-0}" \
	--isas "${BENCH_ISAS:-}"
[ "${BENCH_JSON:-0}" = 1 ] && set -- "$@" --json
exec "$PY" tools/bench_torch.py "$@"
