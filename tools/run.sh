#!/bin/sh
# run.sh [petri search options] - install what is missing, build, and run a
# search on Fashion-MNIST (Debian's dataset-fashion-mnist) in runs/fashion-mnist
# for 12 minutes on this machine's cores; then print the frontier table and
# write its plot. Rerunning resumes the same experiment (a spent budget ends
# at once); pass --budget to extend it.
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
EXP=${PETRI_EXP:-runs/fashion-mnist}
mkdir -p "$(dirname "$EXP")"
if [ -e "$EXP/data.mdb" ]; then
  build/petri search --dir "$EXP" "$@"
else
  build/petri search --dir "$EXP" --budget 12m "$@"
fi
echo
build/petri frontier --dir "$EXP" --svg "$EXP/frontier.svg"
