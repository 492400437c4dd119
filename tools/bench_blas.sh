#!/bin/sh
# bench_blas.sh - which Debian OpenBLAS build should petri link?  Builds petri
# twice, -DPETRI_BLAS=openmp into build-blas-openmp and -DPETRI_BLAS=pthread
# into build-blas-pthread, then runs `petri bench` for mlp, cnn-small, cnn-mid
# and seed and `petri bench --sgemm`, the two builds alternating run by run,
# and prints the medians side by side.
#
#   BLAS_REPS=3        repetitions
#   BLAS_THREADS=2     thread counts to try, e.g. "1 2"
#   BLAS_STEPS=10      --steps per petri bench run
#   BLAS_NETS="mlp cnn-small cnn-mid seed"
#   BLAS_BUILD=0       reuse build-blas-openmp and build-blas-pthread as they are
#
# petri calls BLAS inside its own OpenMP regions (one thread per call there)
# and outside them (linear layers); the OpenMP build knows when it is inside
# an OpenMP region, the pthread build does not.
set -eu
cd "$(dirname "$0")/.."
missing=""
for p in gcc make cmake pkg-config libopenblas-dev libopenblas0-openmp libopenblas0-pthread libmsgpack-dev \
	liblmdb-dev zlib1g-dev dataset-fashion-mnist; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bench_blas: missing Debian packages; run as root:" >&2
		echo "  apt-get update && apt-get install -y$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq $missing >&2
fi
REPS=${BLAS_REPS:-3}
THREADS=${BLAS_THREADS:-2}
STEPS=${BLAS_STEPS:-10}
NETS=${BLAS_NETS:-mlp cnn-small cnn-mid seed}
for v in openmp pthread; do
	d=build-blas-$v
	if [ "${BLAS_BUILD:-1}" = 0 ]; then
		[ -x "$d/petri" ] || { echo "bench_blas: no $d/petri" >&2; exit 1; }
		continue
	fi
	cmake -S . -B "$d" -DCMAKE_BUILD_TYPE=Release -DPETRI_BLAS=$v >"$d.cmake.log" 2>&1 ||
		{ cat "$d.cmake.log" >&2; exit 1; }
	rm -f "$d.cmake.log"
	cmake --build "$d" --target petri -j "$(nproc)" >&2
done
for v in openmp pthread; do
	echo "$v: $(ldd "build-blas-$v/petri" | grep -o '/[^ ]*openblas[^ ]*' | head -1)"
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
r=0
while [ "$r" -lt "$REPS" ]; do
	for t in $THREADS; do
		# alternate which build goes first
		if [ $((r % 2)) = 0 ]; then order="openmp pthread"; else order="pthread openmp"; fi
		for v in $order; do
			printf '%s %s sgemm ' "$v" "$t" >>"$out"
			build-blas-$v/petri bench --sgemm --threads "$t" >>"$out"
		done
		for n in $NETS; do
			for v in $order; do
				printf '%s %s %s ' "$v" "$t" "$n" >>"$out"
				build-blas-$v/petri bench --arch "$n" --threads "$t" --steps "$STEPS" >>"$out"
			done
		done
	done
	r=$((r + 1))
	echo "rep $r/$REPS done" >&2
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$out" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    v, t, n, js = line.split(" ", 3)
    rows.setdefault((n, int(t), v), []).append(json.loads(js))
med = lambda k, key: statistics.median(j[key] for j in rows[k]) if k in rows else float("nan")
threads = sorted({k[1] for k in rows})
nets = []
for k in rows:
    if k[0] != "sgemm" and k[0] not in nets:
        nets.append(k[0])
print(f"medians of {max(len(x) for x in rows.values())} runs; images/s, GFLOP/s")
print(f"{'net':10s} {'thr':>3s} | {'train openmp':>12s} {'train pthread':>13s} {'p/o':>5s} | "
      f"{'infer openmp':>12s} {'infer pthread':>13s} {'p/o':>5s}")
for t in threads:
    o, p = med(("sgemm", t, "openmp"), "sgemm_gflops"), med(("sgemm", t, "pthread"), "sgemm_gflops")
    print(f"{'sgemm':10s} {t:3d} | {o:12.1f} {p:13.1f} {p / o:5.2f} |")
    for n in nets:
        a = [med((n, t, v), "train_img_s") for v in ("openmp", "pthread")]
        b = [med((n, t, v), "infer_img_s") for v in ("openmp", "pthread")]
        print(f"{n:10s} {t:3d} | {a[0]:12.0f} {a[1]:13.0f} {a[1] / a[0]:5.2f} | {b[0]:12.0f} {b[1]:13.0f} {b[1] / b[0]:5.2f}")
print("p/o = pthread / openmp (> 1: the pthread build is faster)")
EOF
