#!/usr/bin/env python3
"""zoo_data.py - a small CSV data set of Fashion-MNIST images for the zoo tests.

    python3 tests/zoo_data.py OUT --train N --test M [--size S] [--data DIR]

Writes OUT.csv (the first N training images) and OUT.test.csv (the first M
test images), one image a line: the label, then the S*S pixel bytes
(0..255) row by row, so petri reads them with --shape 1xSxS and
--input-scale 1/255 (pixels in [0, 1], as from the IDX files). S is 28
(default) or more: a 28x28 image is centred in an SxS frame of zeros (for
S = 32, 2 pixels on each side), the documented way a network that needs
32x32 inputs (densenet121) gets Fashion-MNIST. --batch-of N writes
OUT.csv and OUT.test.csv with the same N training rows (a fixed batch to
train on and evaluate). Plain Python, no numpy.
"""
import argparse
import gzip
import os
import struct
import sys

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path, limit):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] != 8:
        raise SystemExit("%s: not an IDX file of unsigned bytes" % path)
    nd = buf[3]
    dims = list(struct.unpack(">%dI" % nd, buf[4:4 + 4 * nd]))
    item = 1
    for d in dims[1:]:
        item *= d
    if limit > dims[0]:
        raise SystemExit("%s holds %d items, %d wanted" % (path, dims[0], limit))
    off = 4 + 4 * nd
    return dims, [buf[off + i * item: off + (i + 1) * item] for i in range(limit)]


def write(path, labels, images, size):
    pad = (size - 28) // 2
    zero_rows = ["0"] * (size * pad)
    side = ["0"] * pad
    tail = ["0"] * (size - 28 - pad)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for y, img in zip(labels, images):
            cells = [str(y)] + zero_rows
            for r in range(28):
                cells += side + [str(v) for v in img[r * 28:(r + 1) * 28]] + tail
            cells += ["0"] * (size * (size - 28 - pad))
            f.write(",".join(cells) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="Fashion-MNIST images as a CSV data set")
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=0)
    ap.add_argument("--test", type=int, default=0)
    ap.add_argument("--batch-of", type=int, default=0, help="train and test: the same N training rows")
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--data", default=os.environ.get("PETRI_DATA", DEFAULT_DATA))
    a = ap.parse_args()
    if a.size < 28 or a.size > 256:
        ap.error("--size must be 28..256")
    if a.batch_of:
        a.train = a.test = a.batch_of
    if a.train < 1 or a.test < 1:
        ap.error("--train and --test (or --batch-of) must be positive")
    _, ytr = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"), a.train)
    dims, xtr = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"), a.train)
    if dims[1:] != [28, 28]:
        raise SystemExit("training images are %s, not 28x28" % dims[1:])
    write(a.out + ".csv", [b[0] for b in ytr], xtr, a.size)
    if a.batch_of:
        write(a.out + ".test.csv", [b[0] for b in ytr], xtr, a.size)
        return 0
    _, yte = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"), a.test)
    _, xte = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"), a.test)
    write(a.out + ".test.csv", [b[0] for b in yte], xte, a.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
