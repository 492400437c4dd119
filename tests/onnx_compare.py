#!/usr/bin/env python3
"""onnx_compare.py - compare two logits CSV files (one line per image).

    python3 tests/onnx_compare.py A.csv B.csv [TOL]

Prints "rows R, classes C, max |diff| X, argmax agree K/R" and exits 1 when
the shapes differ or max |diff| > TOL (default 1e-4).  A NaN on either side
counts as an infinite difference.  Plain Python, no numpy.
"""
import math
import sys


def read_csv(path):
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append([float(v) for v in line.split(",")])
            except ValueError as e:
                raise SystemExit("%s:%d: %s" % (path, lineno, e))
    return rows


def argmax(row):
    best = 0
    for i, v in enumerate(row):
        if v > row[best]:
            best = i
    return best


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write("usage: python3 tests/onnx_compare.py A.csv B.csv [TOL]\n")
        return 2
    tol = 1e-4
    if len(sys.argv) == 4:
        try:
            tol = float(sys.argv[3])
        except ValueError:
            sys.stderr.write("bad TOL %r\n" % sys.argv[3])
            return 2
    try:
        a = read_csv(sys.argv[1])
        b = read_csv(sys.argv[2])
    except OSError as e:
        sys.stderr.write("%s\n" % e)
        return 1

    if len(a) != len(b):
        print("row counts differ: %s has %d, %s has %d" % (sys.argv[1], len(a), sys.argv[2], len(b)))
        return 1
    if not a:
        print("no rows in %s" % sys.argv[1])
        return 1
    cols = len(a[0])
    for i, (ra, rb) in enumerate(zip(a, b)):
        if len(ra) != cols or len(rb) != cols:
            print("column counts differ at row %d: %d and %d (row 1 has %d)"
                  % (i + 1, len(ra), len(rb), cols))
            return 1

    worst = 0.0
    where = (0, 0)
    agree = 0
    for i, (ra, rb) in enumerate(zip(a, b)):
        for j, (x, y) in enumerate(zip(ra, rb)):
            d = abs(x - y)
            if math.isnan(d):
                d = math.inf
            if d > worst:
                worst, where = d, (i, j)
        if argmax(ra) == argmax(rb):
            agree += 1

    print("rows %d, classes %d, max |diff| %.3g, argmax agree %d/%d"
          % (len(a), cols, worst, agree, len(a)))
    if worst > tol:
        i, j = where
        print("FAIL: max |diff| %.3g > tolerance %g at row %d, class %d (%.9g vs %.9g)"
              % (worst, tol, i + 1, j, a[i][j], b[i][j]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
