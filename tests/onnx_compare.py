#!/usr/bin/env python3
"""onnx_compare.py - compare two logits CSV files (one line per image).

    python3 tests/onnx_compare.py A.csv B.csv [TOL] [--rel]

Prints "rows R, classes C, max |diff| X, argmax agree K/R" and exits 1 when
the shapes differ or max |diff| > TOL (default 1e-4).  With --rel the
difference of each value is divided by the largest |logit| of its row (of
either file), so TOL is relative to the scale of the logits, and the line
says "max rel diff".  A NaN on either side counts as an infinite
difference.  Plain Python, no numpy.
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
    argv = sys.argv[1:]
    rel = "--rel" in argv
    argv = [a for a in argv if a != "--rel"]
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: python3 tests/onnx_compare.py A.csv B.csv [TOL] [--rel]\n")
        return 2
    tol = 1e-4
    if len(argv) == 3:
        try:
            tol = float(argv[2])
        except ValueError:
            sys.stderr.write("bad TOL %r\n" % argv[2])
            return 2
    sys.argv[1:3] = argv[:2]
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
        scale = 1.0
        if rel:
            scale = max([abs(v) for v in ra + rb if not math.isnan(v)] + [1e-30])
        for j, (x, y) in enumerate(zip(ra, rb)):
            d = abs(x - y) / scale
            if math.isnan(d):
                d = math.inf
            if d > worst:
                worst, where = d, (i, j)
        if argmax(ra) == argmax(rb):
            agree += 1

    what = "max rel diff" if rel else "max |diff|"
    print("rows %d, classes %d, %s %.3g, argmax agree %d/%d"
          % (len(a), cols, what, worst, agree, len(a)))
    if worst > tol:
        i, j = where
        print("FAIL: %s %.3g > tolerance %g at row %d, class %d (%.9g vs %.9g)"
              % (what, worst, tol, i + 1, j, a[i][j], b[i][j]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
