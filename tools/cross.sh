#!/bin/sh
# cross.sh - build the nn tests (test_kernels, test_nn) for 64-bit Arm Linux
# on a Debian x86-64 machine and run them under qemu-aarch64: installs the
# cross compiler, qemu and the
# arm64 multiarch libraries from Debian, configures $PETRI_BUILD (default
# build-aarch64/) with tools/aarch64-linux-gnu.cmake and warnings as errors,
# builds only those, runs them, and exits non-zero if either fails.
#   PETRI_BLAS=pthread  link OpenBLAS's pthread build (default openmp)
#   PETRI_JOBS=N        parallel build jobs (default 2)
#   OMP_NUM_THREADS     threads under qemu (default 1)
set -eu
cd "$(dirname "$0")/.."
B=${PETRI_BUILD:-build-aarch64}
BLAS=${PETRI_BLAS:-openmp}
HOST_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user file make cmake pkg-config protobuf-c-compiler libonnx-dev"
ARM_PKGS="libopenblas-dev libopenblas0-$BLAS libmsgpack-dev liblmdb-dev zlib1g-dev libprotobuf-c-dev libmicrohttpd-dev"

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
addarch=0
dpkg --print-foreign-architectures | grep -qx arm64 || addarch=1
missing=""
for p in $HOST_PKGS; do
  installed "$p" || missing="$missing $p"
done
for p in $ARM_PKGS; do
  installed "$p:arm64" || missing="$missing $p:arm64"
done
if [ -n "$missing" ] || [ "$addarch" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    pre=""
    [ "$addarch" = 1 ] && pre="dpkg --add-architecture arm64 && "
    echo "cross: missing Debian packages; run as root:" >&2
    echo "  ${pre}apt-get update && apt-get install -y$missing" >&2
    exit 1
  fi
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  echo "cross: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  {
    [ "$addarch" = 0 ] || dpkg --add-architecture arm64
    apt-get update -qq
    # shellcheck disable=SC2086
    [ -z "$missing" ] || apt-get install -y -qq --no-install-recommends $missing
  } > "$log" 2>&1 || { cat "$log" >&2; echo "cross: install failed" >&2; exit 1; }
fi

# arm64 .pc files only (the toolchain file sets the same for cmake's own runs)
export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
export PKG_CONFIG_PATH=
start=$(date +%s)
cmake -S . -B "$B" -DCMAKE_TOOLCHAIN_FILE="$PWD/tools/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DPETRI_WERROR=ON -DPETRI_BLAS="$BLAS" > "$B.cmake.log" 2>&1 ||
  { cat "$B.cmake.log" >&2; exit 1; }
rm -f "$B.cmake.log"
cmake --build "$B" --target test_kernels test_nn -j "${PETRI_JOBS:-2}" >&2
built=$(date +%s)
echo "cross: built $B/test_nn in $((built - start)) s: $(file -b "$B/test_nn" | cut -d, -f1-2)" >&2
file -b "$B/test_nn" | grep -q aarch64 || { echo "cross: $B/test_nn is not an aarch64 binary" >&2; exit 1; }

# The loader and libc come from Debian's arm64 libc6 (/lib/ld-linux-aarch64.so.1,
# /usr/lib/aarch64-linux-gnu), which the arm64 libraries above depend on, so
# the prefix is /. -L /usr/aarch64-linux-gnu would pair the cross package's
# ld.so with that libc: a different glibc build, and test_nn hangs at start-up.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export QEMU_LD_PREFIX=/
rc=0
echo "cross: running qemu-aarch64 -L / $B/test_kernels generic"
qemu-aarch64 -L / "$B/test_kernels" generic || rc=$?
echo "cross: running qemu-aarch64 -L / $B/test_nn (OMP_NUM_THREADS=$OMP_NUM_THREADS)"
qemu-aarch64 -L / "$B/test_nn" || rc=$?
echo "cross: aarch64 tests under qemu exited $rc after $(($(date +%s) - built)) s"
exit "$rc"
