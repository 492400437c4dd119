#!/bin/sh
# fuzz.sh [SECONDS] [TARGET] - build a libFuzzer target with clang (ASan +
# UBSan, undefined behaviour fatal), write its seed corpus, and fuzz it for
# SECONDS (default 60). TARGET: model (nn_model_decode, the default),
# store (the experiment store's record decoders, the daemon's model cards
# and running jobs among them), onnx (the ONNX
# importer, nn_onnx_decode) or data (the IDX and CSV data set readers,
# nn_data_load; its seeds are all in tests/corpus/data), wire (the messages
# between the daemon and its worker processes; its seeds written by the
# target itself); onnx also runs
# torchvision's conv families once each (tests/zoo_export.py). Exits non-zero on any
# crash, leak, undefined behaviour or timeout; the input that caused it is
# left in $PETRI_FUZZ_DIR (default build-fuzz) as crash-*, leak-*, ....
# Inputs kept in tests/corpus/TARGET/ (regressions) are always run first.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
target=${2:-model}
case "$target" in
model) srcs="nn/*.c nn/rec/*.c nn/io/*.c" ;;
store) srcs="nn/*.c nn/rec/*.c nn/io/*.c queue/*.c grow/*.c daemon/exp_card.c daemon/exp_ckpt.c" ;;
onnx) srcs="nn/*.c nn/rec/*.c nn/io/*.c" ;;
data) srcs="nn/*.c nn/rec/*.c nn/io/*.c" ;;
wire) srcs="nn/*.c nn/rec/*.c nn/io/*.c queue/*.c grow/*.c daemon/exp_card.c daemon/exp_ckpt.c daemon/wire.c" ;;
*) echo "fuzz.sh: unknown target '$target' (model, store, onnx, data or wire)" >&2; exit 2 ;;
esac
B=${PETRI_FUZZ_DIR:-build-fuzz}
mkdir -p "$B"

# clang with libFuzzer and OpenMP (Debian: clang, libclang-rt-14-dev, libomp-14-dev)
probe() {
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n > 1000000; }\n' > "$B/probe.c"
	clang -fsanitize=fuzzer,address,undefined -fopenmp "$B/probe.c" -o "$B/probe" > /dev/null 2>&1
}
if ! command -v clang > /dev/null 2>&1 || ! probe; then
	pkgs="clang libclang-rt-14-dev libomp-14-dev"
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y $pkgs
		probe || { echo "fuzz.sh: clang still cannot build a libFuzzer target" >&2; exit 1; }
	else
		echo "fuzz.sh needs clang with libFuzzer; as root run:" >&2
		echo "  apt-get install -y $pkgs" >&2
		exit 1
	fi
fi

# the ONNX messages' C code, generated from Debian's onnx.proto as in the CMake build
mkdir -p "$B/onnx"
protoc-c --c_out="$B/onnx" -I/usr/include/onnx /usr/include/onnx/onnx.proto
pb="$B/onnx/onnx.pb-c.c"

# -w: warnings are the CMake build's job
inc="-Inn -Inn/rec -Inn/io -Iqueue -Igrow -Ifrontier -Idaemon -Itests -I$B/onnx -I/usr/include/x86_64-linux-gnu"
defs="-w -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE"
libs="/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0 -lmsgpackc -llmdb -lprotobuf-c -lz -lm -fopenmp"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

echo "== building fuzz_$target"
# the kernels per instruction set, each with its own flags as in the CMake build
cpu=""
for f in dispatch:"" generic:"" avx2:"-mavx2 -mfma" avx512:"-mavx2 -mfma -mavx512f -mavx512bw -mavx512dq -mavx512vl"; do
	name=${f%%:*}
	# shellcheck disable=SC2086
	clang -g -O1 $defs $inc $san -fopenmp ${f#*:} -c "nn/cpu/$name.c" -o "$B/cpu_$name.o"
	cpu="$cpu $B/cpu_$name.o"
done
# shellcheck disable=SC2086
clang -g -O1 $defs $inc $san -fsanitize=fuzzer -fopenmp $srcs $cpu $pb "tests/fuzz_$target.c" $libs -o "$B/fuzz_$target"
# shellcheck disable=SC2086
clang -g -O1 $defs $inc $san -fopenmp nn/*.c nn/rec/*.c nn/io/*.c queue/*.c grow/*.c daemon/exp_card.c daemon/exp_ckpt.c $cpu $pb tests/fuzz_seeds.c $libs -o "$B/fuzz_seeds"

corpus="$B/corpus_$target"
rm -rf "$B/seeds_model" "$B/seeds_store" "$B/seeds_onnx"
mkdir -p "$corpus"
"$B/fuzz_seeds" "$B/seeds_model" "$B/seeds_store" "$B/seeds_onnx"
# the importer also gets what torch.onnx.export writes (Shape/Gather/Reshape,
# ReduceMean, fused conv biases), when PyTorch is installed
if [ "$target" = onnx ] && /usr/bin/python3 tests/onnx_torch.py "$B/seeds_torch" --rows 1 --threads 1 > /dev/null 2>&1; then
	cp "$B/seeds_torch"/*.onnx "$B/seeds_onnx"/
fi
# torchvision's conv families (tests/zoo_export.py, when torchvision is
# installed; PETRI_FUZZ_ZOO=0 skips them): whole models of megabytes, too
# big to mutate in the time given, so each is run once through the target
# (import, export, import again, under ASan and UBSan) before fuzzing
zoo=""
if [ "$target" = onnx ] && [ "${PETRI_FUZZ_ZOO:-1}" = 1 ]; then
	rm -rf "$B/seeds_zoo"
	if OMP_NUM_THREADS=1 /usr/bin/python3 tests/zoo_export.py --all "$B/seeds_zoo" > "$B/zoo_export.log" 2>&1; then
		zoo=$(ls "$B/seeds_zoo"/*.onnx)
	else
		echo "== no torchvision families as seeds: $(tail -1 "$B/zoo_export.log")"
	fi
fi
if [ -d "$B/seeds_$target" ]; then
	cp "$B/seeds_$target"/* "$corpus"/
fi
dirs="$corpus"
[ -d "tests/corpus/$target" ] && dirs="$dirs tests/corpus/$target"

maxlen=16384
[ "$target" = onnx ] && maxlen=65536 # the torch seeds hold 784x10 weights
echo "== fuzzing fuzz_$target for $secs s ($(ls "$corpus" | wc -l) inputs in the corpus)"
log="$B/fuzz_$target.log"
rc=0
# fuzz_data writes each input to files in this directory (memory, not disk)
shm=/dev/shm
[ -w "$shm" ] || shm=${TMPDIR:-/tmp}
datadir="$shm/petri-fuzz-data-$$"
# shellcheck disable=SC2086
PETRI_FUZZ_SEEDS="$corpus" PETRI_FUZZ_DATA_DIR="$datadir" OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	"$B/fuzz_$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" \
	-print_final_stats=1 -artifact_prefix="$B/" $dirs > "$log" 2>&1 || rc=$?
rm -rf "$datadir"
if [ "$rc" = 0 ] && [ -n "$zoo" ]; then
	echo "== running the torchvision families once through fuzz_$target ($(echo "$zoo" | wc -l) models)"
	# shellcheck disable=SC2086
	OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
		"$B/fuzz_$target" -timeout=120 -rss_limit_mb=4096 $zoo > "$B/fuzz_${target}_zoo.log" 2>&1 || {
		tail -60 "$B/fuzz_${target}_zoo.log" >&2
		echo "fuzz.sh: fuzz_$target FAILED on a torchvision family (exit $?): see $B/fuzz_${target}_zoo.log" >&2
		exit 1
	}
	sed -n 's/^Executed \(.*\) in \([0-9]*\) ms$/   \1: \2 ms/p' "$B/fuzz_${target}_zoo.log"
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ "$rc" != 0 ]; then
	tail -60 "$log" >&2
	echo "fuzz.sh: fuzz_$target FAILED (exit $rc) after ${execs:-?} runs; input saved in $B/ (crash-*, leak-*, timeout-*, oom-*)" >&2
	exit 1
fi
echo "fuzz_$target: ${execs:-?} runs in $secs s, no crash ($(ls "$corpus" | wc -l) inputs in the corpus)"
