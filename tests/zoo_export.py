#!/usr/bin/python3
"""zoo_export.py - a torchvision conv family as an ONNX file for petri's import.

    /usr/bin/python3 tests/zoo_export.py FAMILY OPSET FOLD OUT.onnx [--size N] [--seed S]
    /usr/bin/python3 tests/zoo_export.py --all DIR [--size N] [--seed S]

FAMILY is one of resnet18, regnet_x_400mf, mobilenet_v2, mobilenet_v3_small,
efficientnet_b0, shufflenet_v2_x0_5, squeezenet1_1, densenet121 (torchvision
0.14). OPSET is 13 or 17; FOLD is fold or nofold (torch.onnx.export's
do_constant_folding). --size is the input's H = W (default 28; densenet121
needs 32: its stride-4 stem and three 2x2 average-pool transitions leave
nothing of 28x28). --all writes every family at opset 13, folded, as
DIR/FAMILY.onnx in one process (the fuzzer's seeds).

The network is built randomly initialized (weights=None, nothing is
downloaded) with num_classes=10, and its first Conv2d is replaced by one of
in_channels=1 with the same other settings (one-channel images). Its
BatchNorm layers get non-trivial statistics, so that an importer that folds
or reads them wrongly shows: their affine weight and bias are drawn at
random, then four forward passes in train mode over random images in [0, 1]
set the running mean and variance to the averages of the batch statistics
(momentum None), which keeps activations of order 1 through the depth. The
net is then put in eval mode and exported with input "input" [N,1,S,S]
(float32 NCHW, N free) and output "logits" [N,10]. Torch runs on one thread;
the same FAMILY, --size and --seed give the same weights.
"""
import argparse
import os
import sys

FAMILIES = ("resnet18", "regnet_x_400mf", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0",
            "shufflenet_v2_x0_5", "squeezenet1_1", "densenet121")
# the smallest input each family runs on at the sizes petri's tests use
MIN_SIZE = {"densenet121": 32}


def one_channel(model, nn):
    """Replace the first Conv2d (the stem) by one taking one channel."""
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            conv = nn.Conv2d(1, mod.out_channels, mod.kernel_size, stride=mod.stride, padding=mod.padding,
                             dilation=mod.dilation, groups=1, bias=mod.bias is not None,
                             padding_mode=mod.padding_mode)
            parent = model
            path = name.split(".")
            for p in path[:-1]:
                parent = getattr(parent, p)
            setattr(parent, path[-1], conv)
            return name
    raise SystemExit("zoo_export: the model has no Conv2d")


def build(family, size, seed):
    import torch
    import torchvision
    from torch import nn
    torch.manual_seed(seed)
    model = getattr(torchvision.models, family)(weights=None, num_classes=10)
    one_channel(model, nn)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in bns:
            if bn.affine:
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0.0, 0.1)
            bn.reset_running_stats()
            bn.momentum = None  # running stats: the average over the passes
        model.train()
        for _ in range(4):
            model(torch.rand(16, 1, size, size))
    model.eval()
    return model


def export(family, opset, fold, out, size, seed):
    import torch
    model = build(family, size, seed)
    x = torch.rand(2, 1, size, size)
    tmp = out + ".tmp"
    torch.onnx.export(model, x, tmp, opset_version=opset, do_constant_folding=fold, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    os.replace(tmp, out)


def main():
    ap = argparse.ArgumentParser(description="export a torchvision conv family to ONNX")
    ap.add_argument("args", nargs="*", help="FAMILY OPSET FOLD OUT.onnx")
    ap.add_argument("--all", metavar="DIR", help="every family at opset 13, folded, as DIR/FAMILY.onnx")
    ap.add_argument("--size", type=int, default=0, help="input H = W (default 28, densenet121 32)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    if a.all:
        if a.args:
            ap.error("--all takes no other arguments")
        os.makedirs(a.all, exist_ok=True)
        for f in FAMILIES:
            size = a.size or MIN_SIZE.get(f, 28)
            export(f, 13, True, os.path.join(a.all, f + ".onnx"), max(size, MIN_SIZE.get(f, 0)), a.seed)
        return 0
    if len(a.args) != 4:
        ap.error("want FAMILY OPSET FOLD OUT.onnx")
    family, opset, fold, out = a.args
    if family not in FAMILIES:
        ap.error("unknown family '%s' (%s)" % (family, ", ".join(FAMILIES)))
    if opset not in ("13", "17"):
        ap.error("OPSET must be 13 or 17, not '%s'" % opset)
    if fold not in ("fold", "nofold"):
        ap.error("FOLD must be fold or nofold, not '%s'" % fold)
    size = a.size or MIN_SIZE.get(family, 28)
    if size < MIN_SIZE.get(family, 1):
        ap.error("%s needs --size %d at least" % (family, MIN_SIZE[family]))
    if size < 1 or size > 512:
        ap.error("--size must be 1..512")
    export(family, int(opset), fold == "fold", out, size, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
