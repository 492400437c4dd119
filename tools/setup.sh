#!/bin/sh
# setup.sh [extra Debian packages...] - install what petri needs from Debian,
# then configure and build it into $PETRI_BUILD (default build/).
#   PETRI_WERROR=1    warnings are errors
#   PETRI_SANITIZE=1  AddressSanitizer + UndefinedBehaviorSanitizer build
set -eu
cd "$(dirname "$0")/.."
PKGS="gcc make cmake pkg-config libopenblas-dev libopenblas0-openmp libmsgpack-dev liblmdb-dev zlib1g-dev dataset-fashion-mnist librsvg2-bin libprotobuf-c-dev protobuf-c-compiler libonnx-dev python3-onnx python3-torch python3-torchvision qemu-user libmicrohttpd-dev chromium wrk curl openmpi-bin libopenmpi-dev $*"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq $missing >&2
  else
    echo "setup: missing Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
  fi
fi
# ONNX Runtime (CPU) for the ONNX tests, from npm into build/ort; its install
# script would fetch GPU binaries, hence --ignore-scripts
ORT=build/ort
if [ ! -d "$ORT/node_modules/onnxruntime-node" ]; then
  if ! command -v npm > /dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
    else
      echo "setup: npm is missing; run as root: apt-get install -y nodejs npm" >&2
      exit 1
    fi
  fi
  mkdir -p "$ORT"
  echo "setup: npm install --ignore-scripts onnxruntime-node (into $ORT)" >&2
  npm install --ignore-scripts --no-audit --no-fund --prefix "$ORT" onnxruntime-node@1.30.0 >&2 ||
    { echo "setup: npm could not install onnxruntime-node" >&2; exit 1; }
fi
# playwright-core drives Debian's Chromium in the dashboard's browser test
# (tests/serve_page.js), from npm into build/pw; it downloads no browser
PW=build/pw
if [ ! -d "$PW/node_modules/playwright-core" ]; then
  mkdir -p "$PW"
  echo "setup: npm install --ignore-scripts playwright-core (into $PW)" >&2
  npm install --ignore-scripts --no-audit --no-fund --prefix "$PW" playwright-core@1.65.1 >&2 ||
    { echo "setup: npm could not install playwright-core" >&2; exit 1; }
fi
B=${PETRI_BUILD:-build}
opts="-DCMAKE_BUILD_TYPE=Release"
[ "${PETRI_WERROR:-0}" = 1 ] && opts="$opts -DPETRI_WERROR=ON"
[ "${PETRI_SANITIZE:-0}" = 1 ] && opts="$opts -DPETRI_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo"
cmake -S . -B "$B" $opts > "$B.cmake.log" 2>&1 || { cat "$B.cmake.log" >&2; exit 1; }
rm -f "$B.cmake.log"
cmake --build "$B" -j "$(nproc)" >&2
