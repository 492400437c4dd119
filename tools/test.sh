#!/bin/sh
# test.sh - install what is missing, build, and run every test with ctest.
# Same switches as setup.sh (PETRI_WERROR, PETRI_SANITIZE, PETRI_BUILD).
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
B=${PETRI_BUILD:-build}
cd "$B"
ctest --output-on-failure --timeout 900
