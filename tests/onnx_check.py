#!/usr/bin/python3
"""onnx_check.py - validate ONNX files with the onnx package's checker.

    /usr/bin/python3 tests/onnx_check.py FILE.onnx...

For each file: onnx.checker.check_model(onnx.load(FILE), full_check=True)
(full_check adds shape inference).  Prints "ok FILE (opset N, ops: ...)" or
"FAIL FILE: error"; exits 1 if any file fails.
"""
import sys


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: /usr/bin/python3 tests/onnx_check.py FILE.onnx...\n")
        return 2
    import onnx
    failed = 0
    for path in sys.argv[1:]:
        try:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # load errors, checker and shape-inference errors
            msg = str(e).strip() or type(e).__name__
            print("FAIL %s: %s: %s" % (path, type(e).__name__, msg))
            failed += 1
            continue
        opset = "?"
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                opset = imp.version
        counts = {}
        for node in model.graph.node:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
        ops = ", ".join("%s x%d" % (k, v) if v > 1 else k for k, v in counts.items())
        print("ok %s (opset %s, ops: %s)" % (path, opset, ops))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
