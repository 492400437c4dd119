#!/usr/bin/python3
"""onnx_torch.py - small PyTorch nets exported to ONNX, with reference logits,
for testing petri's ONNX import against an independent implementation.

    /usr/bin/python3 tests/onnx_torch.py OUTDIR [--rows N] [--nets a,b,c]
    /usr/bin/python3 tests/onnx_torch.py OUTDIR --train NAME --epochs E [--threads T]

Common options: --data DIR (IDX files, default $PETRI_DATA or Debian's
Fashion-MNIST), --threads T (torch and BLAS threads, default 2).  Training
options: --lr (0.05), --batch (128), --train-rows N (first N training images
only, for quick checks).

Export mode: each net is built under a fixed seed, its BatchNorm layers get
random non-trivial running_mean / running_var / weight / bias (so an importer
that ignores the running statistics fails), its last Linear layer is scaled
by 10 (logits of order 1, so the 1e-4 absolute tolerance of onnx_compare.py
is strict), it is put in eval mode and exported to OUTDIR/NAME.onnx;
OUTDIR/NAME.torch.csv holds the logits of the first N test images (one line per image, 10 comma-separated '%.9g' values).
The ONNX op types of each exported graph are printed.

Training mode: the net is trained from its default initialisation (SGD,
momentum 0.9, lr 0.05, batch 128, pixels / 255, no augmentation) on the 60000
training images, test accuracy and loss over the 10000 test images are
printed, then the net is exported and its logits written as above.

ONNX convention: input "input" float32 NCHW [N,1,28,28] (byte / 255, no other
normalisation), output "logits" [N,10], batch axis dynamic (opset 13 unless
OPSET says otherwise).

Nets:
  plain   conv3x3 8 + BN + relu + maxpool2, conv3x3 16 + BN + relu + maxpool2,
          x.view(x.size(0), -1), linear 784 -> 10
  resnet  stem conv3x3 8 + BN + relu; residual block 8 (identity skip);
          residual block 16 stride 2 (1x1 stride-2 conv + BN on the skip) with
          a BN after the add; global average pool, flatten, linear
  mixed   conv3x3 8 + BN + relu, depthwise conv3x3 + BN + relu, grouped conv
          (groups 2), two branches (dilated conv3x3 d2 | avgpool3 s1 p1
          count_include_pad=False + conv1x1) concatenated on channels,
          maxpool3 s2 p1, learned scalar gate, global average pool, linear
  mlp     flatten, linear 784 -> 64, relu, linear 64 -> 10
  act     the activations and squeeze-and-excitation of MobileNet V2/V3 and
          EfficientNet: conv3x3 s2 + BN + ReLU6, depthwise conv + BN +
          hardswish, SE (avgpool, conv1x1, relu, conv1x1, hardsigmoid, scale *
          x), conv1x1 + BN + SiLU, SE with SiLU and sigmoid, x * sigmoid(conv(x)),
          clamp(-1, 2), avgpool, flatten, linear, hardswish, linear
  act17   act exported at opset 17 (HardSwish as one op)
"""
import argparse
import gzip
import os
import struct
import sys
import time

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
NET_NAMES = ("plain", "resnet", "mixed", "mlp", "act", "act17", "shape")
SEEDS = {"plain": 101, "resnet": 202, "mixed": 303, "mlp": 404, "act": 505, "act17": 505, "shape": 505}
OPSET = {"act17": 17}  # others: 13


# ---------------------------------------------------------------- data

def read_idx(path, limit=None):
    """Read a gzip IDX file of unsigned bytes; return (dims, bytes).

    The header is parsed, not assumed: two zero bytes, a type code (0x08 =
    unsigned byte), the number of dimensions, then one big-endian uint32 per
    dimension.  With limit, only the first `limit` items are returned."""
    with gzip.open(path, "rb") as f:
        head = f.read(4)
        if len(head) != 4 or head[0] != 0 or head[1] != 0:
            raise ValueError("%s: not an IDX file (bad magic)" % path)
        if head[2] != 0x08:
            raise ValueError("%s: IDX type 0x%02x, expected 0x08 (ubyte)"
                             % (path, head[2]))
        ndim = head[3]
        if ndim < 1:
            raise ValueError("%s: IDX file with no dimensions" % path)
        raw = f.read(4 * ndim)
        if len(raw) != 4 * ndim:
            raise ValueError("%s: truncated IDX header" % path)
        dims = list(struct.unpack(">%dI" % ndim, raw))
        item = 1
        for d in dims[1:]:
            item *= d
        n = dims[0] if limit is None else min(limit, dims[0])
        data = f.read(n * item)
        if len(data) != n * item:
            raise ValueError("%s: truncated IDX data (%d of %d bytes)"
                             % (path, len(data), n * item))
    dims[0] = n
    return dims, data


def load_images(data_dir, split, limit=None):
    """Images as float32 tensor [N,1,28,28] (byte / 255), labels as int64 [N]."""
    import numpy as np
    import torch
    dims, img = read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % split), limit)
    if len(dims) != 3 or dims[1] != 28 or dims[2] != 28:
        raise ValueError("%s images: dims %s, expected [N,28,28]" % (split, dims))
    ldims, lab = read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % split), limit)
    if len(ldims) != 1 or ldims[0] != dims[0]:
        raise ValueError("%s labels: dims %s do not match images %s" % (split, ldims, dims))
    x = np.frombuffer(img, dtype=np.uint8).astype(np.float32) / np.float32(255.0)
    x = torch.from_numpy(x.reshape(dims[0], 1, 28, 28).copy())
    y = torch.from_numpy(np.frombuffer(lab, dtype=np.uint8).astype(np.int64))
    return x, y


# ---------------------------------------------------------------- nets

def build(name):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def conv_bn(cin, cout, k=3, stride=1, pad=1, groups=1, dilation=1):
        return [nn.Conv2d(cin, cout, k, stride=stride, padding=pad,
                          groups=groups, dilation=dilation, bias=False),
                nn.BatchNorm2d(cout)]

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                *conv_bn(1, 8), nn.ReLU(), nn.MaxPool2d(2),
                *conv_bn(8, 16), nn.ReLU(), nn.MaxPool2d(2))
            self.fc = nn.Linear(16 * 7 * 7, 10)

        def forward(self, x):
            x = self.features(x)
            x = x.view(x.size(0), -1)
            return self.fc(x)

    class Block(nn.Module):
        """conv-BN-relu-conv-BN + skip, then (optionally BN) and relu."""

        def __init__(self, cin, cout, stride, post_bn):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, stride=stride), nn.ReLU(),
                                      *conv_bn(cout, cout))
            self.proj = None
            if stride != 1 or cin != cout:
                self.proj = nn.Sequential(*conv_bn(cin, cout, k=1, stride=stride, pad=0))
            self.post = nn.BatchNorm2d(cout) if post_bn else None

        def forward(self, x):
            skip = x if self.proj is None else self.proj(x)
            y = self.body(x) + skip
            if self.post is not None:
                y = self.post(y)
            return F.relu(y)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(*conv_bn(1, 8), nn.ReLU())
            self.b1 = Block(8, 8, 1, post_bn=False)
            self.b2 = Block(8, 16, 2, post_bn=True)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.b2(self.b1(self.stem(x)))
            x = torch.flatten(self.pool(x), 1)
            return self.fc(x)

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(*conv_bn(1, 8), nn.ReLU())
            self.dw = nn.Sequential(*conv_bn(8, 8, groups=8), nn.ReLU())
            self.grouped = nn.Conv2d(8, 16, 3, padding=1, groups=2)
            self.dilated = nn.Conv2d(16, 8, 3, padding=2, dilation=2)
            self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
            self.squeeze = nn.Conv2d(16, 8, 1)
            self.mp = nn.MaxPool2d(3, stride=2, padding=1)
            self.g = nn.Parameter(torch.tensor([0.7]))
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.dw(self.stem(x))
            x = F.relu(self.grouped(x))
            a = F.relu(self.dilated(x))
            b = self.squeeze(self.avg(x))
            x = torch.cat([a, b], dim=1)
            x = self.mp(x) * self.g
            x = x.mean(dim=(2, 3))
            return self.fc(x)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(),
                                     nn.Linear(64, 10))

        def forward(self, x):
            return self.net(x)

    class SE(nn.Module):
        """squeeze-and-excitation as torchvision writes it: scale * x"""

        def __init__(self, c, mid, act, gate):
            super().__init__()
            self.fc1, self.fc2 = nn.Conv2d(c, mid, 1), nn.Conv2d(mid, c, 1)
            self.act, self.gate = act, gate

        def forward(self, x):
            s = F.adaptive_avg_pool2d(x, 1)
            return self.gate(self.fc2(self.act(self.fc1(s)))) * x

    class Act(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(*conv_bn(1, 8, stride=2), nn.ReLU6())
            self.dw = nn.Sequential(*conv_bn(8, 8, groups=8), nn.Hardswish())
            self.se1 = SE(8, 4, nn.ReLU(), nn.Hardsigmoid())
            self.pw = nn.Sequential(*conv_bn(8, 16, k=1, pad=0), nn.SiLU())
            self.se2 = SE(16, 4, nn.SiLU(), nn.Sigmoid())
            self.glu = nn.Conv2d(16, 16, 3, padding=1)
            self.fc1 = nn.Linear(16, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = self.se2(self.pw(self.se1(self.dw(self.stem(x)))))
            x = torch.clamp(x * torch.sigmoid(self.glu(x)), -1.0, 2.0)
            x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
            return self.fc2(F.hardswish(self.fc1(x)))

    class Shape(nn.Module):
        """What torchvision's ShuffleNet, SqueezeNet and DenseNet export:
        asymmetric F.pad, torch.chunk and torch.split of channels, the
        channel shuffle (view, transpose, view), pools with ceil_mode and
        count_include_pad (a Pad before an AveragePool)."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(*conv_bn(1, 8), nn.ReLU())
            self.padded = nn.Conv2d(8, 8, 3, padding=0)
            self.branch = nn.Sequential(*conv_bn(4, 4, groups=4), nn.ReLU())
            self.part = nn.Conv2d(5, 5, 1)
            self.mp = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.ap = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.stem(x)
            x = F.relu(self.padded(F.pad(x, (1, 2, 0, 1))))      # 8x27x29
            a, b = x.chunk(2, dim=1)
            x = torch.cat((a, self.branch(b)), dim=1)
            n, c, h, w = x.size()
            x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
            p, q = torch.split(x, [3, 5], dim=1)
            x = torch.cat((self.part(q), p), dim=1)
            x = self.ap(self.mp(x))                              # 8x13x14, 8x7x8
            x = torch.cat((x, F.avg_pool2d(x, 3, stride=1, padding=1)), dim=1)
            return self.fc(x.mean(dim=(2, 3)))

    classes = {"plain": Plain, "resnet": ResNet, "mixed": Mixed, "mlp": MLP, "act": Act, "act17": Act,
               "shape": Shape}
    if name not in classes:
        raise SystemExit("unknown net %r (known: %s)" % (name, ", ".join(NET_NAMES)))
    torch.manual_seed(SEEDS[name])
    return classes[name]()


def randomize_bn(model):
    """Give every BatchNorm non-trivial statistics and affine parameters."""
    import torch
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c) * 0.5)
                m.running_var.copy_(torch.rand(c) * 1.5 + 0.5)   # [0.5, 2)
                m.weight.copy_(torch.rand(c) * 1.0 + 0.5)        # [0.5, 1.5)
                m.bias.copy_(torch.randn(c) * 0.3)


def scale_classifier(model, factor=10.0):
    """Scale the last Linear layer so the logits are O(1) rather than O(0.1):
    the comparison tolerance (1e-4, absolute) then means about 1e-4 relative,
    and small import mistakes (padding, pooling, gates) show up clearly."""
    import torch
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.mul_(factor)
        last.bias.mul_(factor)


# ---------------------------------------------------------------- output

def op_summary(path):
    """Op types of the graph in order of first appearance, with counts."""
    import onnx
    model = onnx.load(path)
    counts = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def export(model, name, outdir, x_rows):
    import torch
    path = os.path.join(outdir, name + ".onnx")
    model.eval()
    dummy = x_rows[:2].clone()
    torch.onnx.export(model, dummy, path, opset_version=OPSET.get(name, 13),
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True)
    with torch.no_grad():
        logits = model(x_rows)
    csv = os.path.join(outdir, name + ".torch.csv")
    with open(csv, "w") as f:
        for row in logits.tolist():
            f.write(",".join("%.9g" % v for v in row) + "\n")
    counts = op_summary(path)
    ops = ", ".join("%s x%d" % (k, v) if v > 1 else k for k, v in counts.items())
    print("%s: %s (%d params), %s" % (name, path,
          sum(p.numel() for p in model.parameters()), csv))
    print("%s ops: %s" % (name, ops))
    if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        print("%s: %d BatchNorm modules in torch, %d BatchNormalization nodes in ONNX"
              % (name, sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                           for m in model.modules()),
                 counts.get("BatchNormalization", 0)))
    sys.stdout.flush()
    return path, csv


def set_threads(n):
    # BLAS threads must be fixed before torch (and its BLAS) is loaded.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    import torch
    torch.set_num_threads(n)
    torch.set_num_interop_threads(1)


# ---------------------------------------------------------------- training

def evaluate(model, x, y, batch=1000):
    import torch
    import torch.nn.functional as F
    model.eval()
    loss = 0.0
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            out = model(x[i:i + batch])
            loss += F.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return correct / x.shape[0], loss / x.shape[0]


def train(name, args):
    import torch
    import torch.nn.functional as F
    model = build(name)
    xtr, ytr = load_images(args.data, "train", args.train_rows)
    xte, yte = load_images(args.data, "t10k")
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    gen = torch.Generator().manual_seed(SEEDS[name] + 1)
    n = xtr.shape[0]
    print("%s: training on %d images, %d epochs, batch %d, SGD lr %g momentum 0.9, %d threads"
          % (name, n, args.epochs, args.batch, args.lr, args.threads))
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            out = model(xtr[idx])
            loss = F.cross_entropy(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        acc, tloss = evaluate(model, xte, yte)
        print("epoch %d: train loss %.4f, test acc %.4f, test loss %.4f (%.1fs)"
              % (epoch + 1, total / n, acc, tloss, time.time() - t0))
        sys.stdout.flush()
    acc, tloss = evaluate(model, xte, yte)
    print("%s: test accuracy %.4f, test loss %.4f over %d test images"
          % (name, acc, tloss, xte.shape[0]))
    export(model, name, args.outdir, xte[:args.rows])


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--rows", type=int, default=256,
                    help="test images whose logits go to NAME.torch.csv (default 256)")
    ap.add_argument("--nets", default=",".join(NET_NAMES),
                    help="comma-separated nets to export (default: all)")
    ap.add_argument("--train", metavar="NAME", help="train this net instead of random BN stats")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--train-rows", type=int, default=None,
                    help="use only the first N training images (default: all)")
    ap.add_argument("--data", default=os.environ.get("PETRI_DATA", DEFAULT_DATA),
                    help="directory of the IDX files (default %s)" % DEFAULT_DATA)
    args = ap.parse_args()
    if args.rows < 1 or args.epochs < 0 or args.threads < 1 or args.batch < 1:
        ap.error("--rows, --threads, --batch must be positive, --epochs non-negative")

    names = [args.train] if args.train else [s for s in args.nets.split(",") if s]
    if not names:
        ap.error("no nets given")
    for s in names:
        if s not in NET_NAMES:
            ap.error("unknown net %r (known: %s)" % (s, ", ".join(NET_NAMES)))

    set_threads(args.threads)
    import torch
    os.makedirs(args.outdir, exist_ok=True)
    print("torch %s, %d threads, data %s" % (torch.__version__, torch.get_num_threads(), args.data))

    if args.train:
        train(args.train, args)
        return

    x, _ = load_images(args.data, "t10k", args.rows)
    if x.shape[0] < args.rows:
        print("warning: only %d test images available" % x.shape[0])
    for name in names:
        model = build(name)
        randomize_bn(model)
        scale_classifier(model)
        export(model, name, args.outdir, x)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as e:
        sys.stderr.write("onnx_torch: %s\n" % e)
        sys.exit(1)
