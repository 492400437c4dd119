#!/usr/bin/python3
"""onnx_bad.py - ONNX files that petri's importer must reject cleanly.

    /usr/bin/python3 tests/onnx_bad.py OUTDIR

Writes to OUTDIR:
  unsupported.onnx  valid ONNX conv net with a Tanh node named "tanh1"
  dynamic.onnx      valid ONNX, input [N,1,H,W] with symbolic H and W:
                    Conv + GlobalAveragePool + Flatten + Gemm
  external.onnx     valid ONNX conv net whose Conv weight is stored outside
                    the model (data_location EXTERNAL) in weights.bin
  weights.bin       the external Conv weight (float32, little-endian)
  truncated.onnx    the first half of the bytes of a valid model
  garbage.onnx      4096 random bytes (fixed seed)

The first three pass onnx.checker (full_check); the script verifies that, and
that the onnx package refuses to parse the last two.
"""
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def conv_net(name, input_dims, mid_op=None, mid_name=None, external_dir=None):
    """input -> Conv(4, 3x3, pad 1) -> [mid_op] -> GlobalAveragePool ->
    Flatten -> Gemm(10) -> logits, with fixed random weights."""
    rng = np.random.RandomState(7)
    w = rng.uniform(-0.5, 0.5, size=(4, 1, 3, 3)).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, size=(4,)).astype(np.float32)
    fw = rng.uniform(-1.0, 1.0, size=(10, 4)).astype(np.float32)
    fb = rng.uniform(-0.1, 0.1, size=(10,)).astype(np.float32)

    if external_dir is None:
        conv_w = numpy_helper.from_array(w, "conv.weight")
    else:
        raw = w.astype("<f4").tobytes()
        with open(os.path.join(external_dir, "weights.bin"), "wb") as f:
            f.write(raw)
        conv_w = TensorProto()
        conv_w.name = "conv.weight"
        conv_w.data_type = TensorProto.FLOAT
        conv_w.dims.extend(w.shape)
        conv_w.data_location = TensorProto.EXTERNAL
        for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", str(len(raw)))):
            entry = conv_w.external_data.add()
            entry.key = k
            entry.value = v
    inits = [conv_w, numpy_helper.from_array(b, "conv.bias"),
             numpy_helper.from_array(fw, "fc.weight"), numpy_helper.from_array(fb, "fc.bias")]

    nodes = [helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], name="conv1",
                              kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])]
    x = "c"
    if mid_op is not None:
        nodes.append(helper.make_node(mid_op, [x], ["m"], name=mid_name))
        x = "m"
    nodes += [helper.make_node("GlobalAveragePool", [x], ["g"], name="gap"),
              helper.make_node("Flatten", ["g"], ["f"], name="flatten", axis=1),
              helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="fc",
                               transB=1)]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_dims)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, producer_name="petri-tests",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    return model


def check_valid(path):
    onnx.checker.check_model(onnx.load(path), full_check=True)


def check_unparsable(path):
    try:
        onnx.load(path)
    except Exception as e:
        return "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
    raise SystemExit("%s: the onnx package parsed it; it should be unparsable" % path)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: /usr/bin/python3 tests/onnx_bad.py OUTDIR\n")
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    std = ["N", 1, 28, 28]

    p = os.path.join(out, "unsupported.onnx")
    onnx.save(conv_net("unsupported", std, "Tanh", "tanh1"), p)
    check_valid(p)
    print("%s: valid ONNX, Conv -> Tanh (node \"tanh1\") -> GlobalAveragePool -> "
          "Flatten -> Gemm; Tanh is not supported" % p)

    p = os.path.join(out, "dynamic.onnx")
    onnx.save(conv_net("dynamic", ["N", 1, "H", "W"]), p)
    check_valid(p)
    print("%s: valid ONNX, input [N,1,H,W] with symbolic H and W; "
          "Conv -> GlobalAveragePool -> Flatten -> Gemm" % p)

    p = os.path.join(out, "external.onnx")
    model = conv_net("external", std, "Relu", "relu1", external_dir=out)
    # onnx.save would move tensors with raw data to their external file; this
    # one has none, so the model is written as built and weights.bin as above.
    with open(p, "wb") as f:
        f.write(model.SerializeToString())
    check_valid(p)
    loaded = onnx.load(p)
    w = [t for t in loaded.graph.initializer if t.name == "conv.weight"][0]
    if numpy_helper.to_array(w).shape != (4, 1, 3, 3):
        raise SystemExit("%s: external weight did not load back" % p)
    print("%s: valid ONNX, Conv weight \"conv.weight\" stored externally in %s "
          "(data_location EXTERNAL, %d bytes)"
          % (p, os.path.join(out, "weights.bin"), os.path.getsize(os.path.join(out, "weights.bin"))))

    p = os.path.join(out, "truncated.onnx")
    whole = conv_net("truncated", std, "Relu", "relu1").SerializeToString()
    with open(p, "wb") as f:
        f.write(whole[:len(whole) // 2])
    why = check_unparsable(p)
    print("%s: first %d of %d bytes of a valid Conv/Relu/GAP/Flatten/Gemm model "
          "(onnx.load: %s)" % (p, len(whole) // 2, len(whole), why))

    p = os.path.join(out, "garbage.onnx")
    rng = random.Random(20240611)
    with open(p, "wb") as f:
        f.write(bytes(rng.getrandbits(8) for _ in range(4096)))
    why = check_unparsable(p)
    print("%s: 4096 random bytes (onnx.load: %s)" % (p, why))
    return 0


if __name__ == "__main__":
    sys.exit(main())
