#!/bin/sh
# run.sh [petri train options] - install what is missing, build, and train the
# reference net cnn-mid on Fashion-MNIST for 5 epochs; prints its test
# accuracy and cost and writes runs/cnn-mid.petri.
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
mkdir -p runs
exec build/petri train --arch cnn-mid --epochs 5 -o runs/cnn-mid.petri "$@"
