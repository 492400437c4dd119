#!/usr/bin/python3
"""bench_torch.py - PyTorch twins of petri's reference nets, timed the way
`petri bench` times petri, and the side-by-side table of tools/bench.sh.

    /usr/bin/python3 tools/bench_torch.py [--nets mlp,cnn-small,cnn-mid,seed]
        [--threads 1,2] [--reps 3] [--data DIR] [--petri BIN] [--json]

Without --petri: one JSON line per (net, threads) with PyTorch's training and
inference images/s.  With --petri BIN: runs `BIN bench` for every net (and
`BIN bench --sgemm`) interleaved with the PyTorch runs, repetition by
repetition, so both sides see the same machine load, then prints the table.

Twins (checked by parameter count against petri's own count):
  mlp        flatten 784 -> linear 256 -> relu -> linear 10
  cnn-small  conv3x3 16, pool, conv3x3 32, pool, gap, linear
  cnn-mid    conv3x3 32, 32, pool, 64, 64, pool, gap, linear
  seed       grow/seed.c with its defaults (16 filters, 3 stages, 1 block)
every conv without bias followed by BN (eps 1e-5, momentum 0.1).

Training step = forward, cross-entropy, backward, SGD (lr 0.01, momentum 0.9,
weight decay 5e-4 on conv/linear weights only, as nn_sgd_step does) at batch
128; inference = eval mode under torch.no_grad() at batch 256.  Inputs are
Fashion-MNIST pixels / 255.  Each measurement: warm-up steps, then enough
timed steps to fill about --seconds, median step time.  The thread count is
set for ATen/oneDNN (torch.set_num_threads) and for the OpenBLAS that serves
torch's linear layers (openblas_set_num_threads), so "1 thread" means one.
"""
import argparse
import ctypes
import ctypes.util
import gzip
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NETS = ("mlp", "cnn-small", "cnn-mid", "seed")
TRAIN_BATCH = 128
INFER_BATCH = 256


# ---- data ----
def read_idx(path):
    """numpy array from a (gzip) IDX file."""
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise SystemExit(f"bench_torch: {path}: not an unsigned-byte IDX file")
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def load_train(d):
    def pick(stem):
        for name in (stem + ".gz", stem):
            p = os.path.join(d, name)
            if os.path.exists(p):
                return p
        raise SystemExit(f"bench_torch: no {stem}[.gz] in {d}")
    x = read_idx(pick("train-images-idx3-ubyte"))
    y = read_idx(pick("train-labels-idx1-ubyte"))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, x.shape[1], x.shape[2])
    return x.contiguous(), torch.from_numpy(y.astype(np.int64))


# ---- the twins ----
def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
            nn.ReLU(inplace=True)]


def cnn(chans, cin=1, classes=10):
    """nn_arch's cnn-*: conv3x3+BN+ReLU per entry, maxpool 2x2/2 at each -1."""
    layers, last = [], cin
    for c in chans:
        if c < 0:
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += conv_bn_relu(last, c)
            last = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, classes)]
    return nn.Sequential(*layers)


class SepConv(nn.Sequential):
    """nn_sepconv: per rep ReLU -> depthwise k (stride in rep 0) -> 1x1 -> BN."""

    def __init__(self, cin, cout, k, dil, stride, reps=2):
        layers, c = [], cin
        for r in range(reps):
            oc = cout if r == reps - 1 else cin
            # the first ReLU reads a tensor that the caller also uses (the skip)
            layers += [nn.ReLU(inplace=r > 0),
                       nn.Conv2d(c, c, k, stride if r == 0 else 1, dil * (k - 1) // 2, dil, groups=c, bias=False),
                       nn.Conv2d(c, oc, 1, bias=False),
                       nn.BatchNorm2d(oc, eps=1e-5, momentum=0.1)]
            c = oc
        super().__init__(*layers)


class FactRed(nn.Module):
    """nn_factred: ReLU -> [W1 x[2i,2j] ; W2 x[2i+1,2j+1]] (zero beyond the edge) -> BN."""

    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.c2 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)

    def forward(self, x):
        x = F.relu(x)
        s = x[:, :, 1:, 1:]
        if x.shape[2] % 2 or x.shape[3] % 2:
            s = F.pad(s, (0, 1, 0, 1))
        return self.bn(torch.cat([self.c1(x), self.c2(s)], 1))


class Residual(nn.Module):
    """sum(f(x), x)"""

    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x) + x


class Reduce(nn.Module):
    """sum(sepconv3x3 stride 2 c->2c, factred(x, 2c))"""

    def __init__(self, c):
        super().__init__()
        self.sep = SepConv(c, 2 * c, 3, 1, 2)
        self.fr = FactRed(c, 2 * c)

    def forward(self, x):
        return self.sep(x) + self.fr(x)


def seed(cin=1, classes=10, filters=16, stages=3, blocks=1):
    """grow_seed for images (h > 1), default sizes."""
    c = filters
    layers = [nn.Conv2d(cin, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)]
    for s in range(stages):
        if s > 0:
            layers.append(Reduce(c))
            c *= 2
        for _ in range(blocks):
            layers.append(Residual(SepConv(c, c, 3, 1, 1)))
    layers += [nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


def build(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(inplace=True), nn.Linear(256, 10))
    if name == "cnn-small":
        return cnn((16, -1, 32, -1))
    if name == "cnn-mid":
        return cnn((32, 32, -1, 64, 64, -1))
    if name == "seed":
        return seed()
    raise SystemExit(f"bench_torch: unknown net {name}")


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def optimizer(m):
    """SGD like nn_sgd_step: weight decay on conv/linear weights only."""
    decay, rest = [], []
    for mod in m.modules():
        for pn, p in mod.named_parameters(recurse=False):
            (decay if pn == "weight" and isinstance(mod, (nn.Conv2d, nn.Linear)) else rest).append(p)
    return torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0.0}],
                           lr=0.01, momentum=0.9)


# ---- timing ----
_openblas = None


def set_threads(t):
    global _openblas
    torch.set_num_threads(t)
    if _openblas is None:
        _openblas = False
        for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
            try:
                lib = ctypes.CDLL(name)
                lib.openblas_set_num_threads
                _openblas = lib
                break
            except (OSError, AttributeError, TypeError):
                pass
    if _openblas:
        _openblas.openblas_set_num_threads(t)


def timed(fn, warm, seconds, min_steps, max_steps):
    """median seconds per call of fn(i): warm-up calls, then enough calls to fill `seconds`."""
    t0 = time.perf_counter()
    for i in range(warm):
        fn(i)
        if i == 0:
            t0 = time.perf_counter()  # the first call pays one-time costs
    per = (time.perf_counter() - t0) / max(warm - 1, 1)
    n = max(min_steps, min(max_steps, math.ceil(seconds / max(per, 1e-6))))
    ts = []
    for i in range(n):
        t = time.perf_counter()
        fn(warm + i)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), n


class TorchBench:
    def __init__(self, x, y, seconds):
        self.x, self.y, self.seconds = x, y, seconds
        self.models = {}

    def model(self, name):
        if name not in self.models:
            torch.manual_seed(1)
            m = build(name)
            self.models[name] = (m, optimizer(m))
        return self.models[name]

    def run(self, name, threads):
        set_threads(threads)
        m, opt = self.model(name)
        x, y, n = self.x, self.y, self.x.shape[0]

        def train_step(i):
            off = (i * TRAIN_BATCH) % (n - TRAIN_BATCH)
            opt.zero_grad()
            loss = F.cross_entropy(m(x[off:off + TRAIN_BATCH]), y[off:off + TRAIN_BATCH])
            loss.backward()
            opt.step()

        def infer_step(i):
            off = (i * INFER_BATCH) % (n - INFER_BATCH)
            m(x[off:off + INFER_BATCH])

        m.train()
        tt, nt = timed(train_step, 4, self.seconds, 5, 400)
        m.eval()
        with torch.no_grad():
            ti, ni = timed(infer_step, 3, self.seconds, 5, 400)
        m.train()
        return {"arch": name, "threads": threads, "train_img_s": TRAIN_BATCH / tt, "infer_img_s": INFER_BATCH / ti,
                "params": nparams(m), "train_steps": nt, "infer_steps": ni}


# ---- petri side ----
def run_petri(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"bench: no JSON from {' '.join(cmd)}:\n{p.stdout}{p.stderr}")


def petri_steps(prev, seconds):
    """--steps for the next petri run: enough training steps to fill `seconds`."""
    if not prev:
        return 10
    per = TRAIN_BATCH / max(prev["train_img_s"], 1e-6)
    return max(8, min(400, math.ceil(seconds / per)))


class CpuMeter:
    """CPU time the rest of the machine used while we ran: machine busy time
    (/proc/stat) minus our own and our children's CPU time."""

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK")
        self.start = self.sample()

    def sample(self):
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:9]]
            busy = (sum(v) - v[3] - v[4]) / self.hz
        except (OSError, ValueError, IndexError):
            busy = float("nan")
        t = os.times()
        return time.time(), busy, t.user + t.system + t.children_user + t.children_system

    def other(self, since=None):
        """fraction of all CPUs used by other processes since `since` (default: start)"""
        w0, b0, o0 = since or self.start
        w1, b1, o1 = self.sample()
        return max(0.0, ((b1 - b0) - (o1 - o0)) / max((w1 - w0) * (os.cpu_count() or 1), 1e-9))


def wait_quiet(limit):
    """wait up to `limit` seconds for other processes to use < 10% of the machine"""
    t0 = time.time()
    while True:
        m = CpuMeter()
        time.sleep(2)
        o = m.other()
        if o < 0.10 or time.time() - t0 >= limit:
            return o
        print(f"bench: other processes use {100 * o:.0f}% of the CPUs; waiting", file=sys.stderr, flush=True)


def med(v):
    return statistics.median(v) if v else float("nan")


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--threads", default="1,2", help="PyTorch thread settings to try")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.5, help="timed seconds per measurement")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--petri", help="petri binary: run it side by side and print the table")
    ap.add_argument("--petri-threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="with --petri: also print every raw measurement")
    ap.add_argument("--wait-quiet", type=float, default=0,
                    help="with --petri: before each repetition wait up to this many seconds for an idle machine")
    a = ap.parse_args()
    nets = [n for n in a.nets.split(",") if n]
    threads = [int(t) for t in a.threads.split(",") if t]
    for n in nets:
        if n not in NETS:
            raise SystemExit(f"bench_torch: unknown net {n} (known: {', '.join(NETS)})")
    torch.set_num_interop_threads(1)
    x, y = load_train(a.data)
    tb = TorchBench(x, y, a.seconds)

    if not a.petri:
        for _ in range(a.reps):
            for n in nets:
                for t in threads:
                    print(json.dumps(tb.run(n, t)), flush=True)
        return 0

    pth = str(a.petri_threads)
    t_start, load_start = time.time(), loadavg()
    meter = CpuMeter()
    busy = []
    # parameter counts first: a twin that is not a twin is not worth timing
    pp = {}
    for n in nets:
        j = run_petri([a.petri, "bench", a.data, "--arch", n, "--threads", pth, "--steps", "3"])
        pp[n] = j
        tp = nparams(tb.model(n)[0])
        print(f"params {n:10s} petri {j['params']:8d}  torch {tp:8d}  {'ok' if tp == j['params'] else 'MISMATCH'}",
              flush=True)
        if tp != j["params"]:
            raise SystemExit(f"bench: {n}: PyTorch twin has {tp} parameters, petri's net {j['params']}")

    P = {n: [] for n in nets}
    T = {(n, t): [] for n in nets for t in threads}
    sg = []
    for r in range(a.reps):
        if a.wait_quiet > 0:
            wait_quiet(a.wait_quiet)
        rep0 = meter.sample()
        sg.append(run_petri([a.petri, "bench", "--sgemm", "--threads", pth])["sgemm_gflops"])
        for k, n in enumerate(nets):
            if k == len(nets) // 2:
                sg.append(run_petri([a.petri, "bench", "--sgemm", "--threads", pth])["sgemm_gflops"])
            # alternate who goes first, so slow drifts in load do not favour one side
            order = ("petri", "torch") if r % 2 == 0 else ("torch", "petri")
            for side in order:
                if side == "petri":
                    st = petri_steps(P[n][-1] if P[n] else pp[n], a.seconds)
                    j = run_petri([a.petri, "bench", a.data, "--arch", n, "--threads", pth, "--steps", str(st)])
                    P[n].append(j)
                    if a.json:
                        print(json.dumps({"side": "petri", "rep": r, **j}), flush=True)
                else:
                    for t in threads:
                        j = tb.run(n, t)
                        T[(n, t)].append(j)
                        if a.json:
                            print(json.dumps({"side": "torch", "rep": r, **j}), flush=True)
        busy.append(meter.other(rep0))
        print(f"rep {r + 1}/{a.reps} done ({time.time() - t_start:.0f} s; other processes used {100 * busy[-1]:.0f}% "
              f"of the CPUs)", file=sys.stderr, flush=True)

    # the machine's sgemm limit: the best run (a shared machine only ever slows a run down)
    sgemm = max(sg)
    print()
    print(f"petri {a.petri} at {pth} threads vs PyTorch {torch.__version__} (oneDNN {torch.backends.mkldnn.is_available()}, "
          f"threads tried: {','.join(map(str, threads))}); Fashion-MNIST, train batch {TRAIN_BATCH} SGD momentum 0.9, "
          f"infer batch {INFER_BATCH}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; load average {load_start} at start, "
          f"{loadavg()} at end; medians of {a.reps} runs; images/s")
    other = meter.other()
    print(f"other processes (and the hypervisor) used {100 * other:.0f}% of the CPUs during the run (per repetition: "
          f"{', '.join(f'{100 * b:.0f}%' for b in busy)})")
    if other > 0.10:
        print("WARNING: the machine was shared; 2-thread figures (petri's and PyTorch's) suffer most from that")
    print(f"cblas_sgemm (2048^3, {pth} threads): {sgemm:.1f} GFLOP/s, best of {len(sg)} runs (median {med(sg):.1f}; "
          f"runs: {', '.join(f'{v:.1f}' for v in sg)})")
    print()
    hdr = (f"{'net':10s}  {'petri train':>11s}  {'torch train (thr)':>17s}  {'ratio':>5s} |  {'petri infer':>11s}  "
           f"{'torch infer (thr)':>17s}  {'ratio':>5s} |  {'petri GFLOP/s':>13s}  {'% of sgemm':>10s}")
    print(hdr)
    print("-" * len(hdr))
    summary = []
    for n in nets:
        ptr = med([j["train_img_s"] for j in P[n]])
        pin = med([j["infer_img_s"] for j in P[n]])
        pgf = med([j["train_gflops"] for j in P[n]])
        ttr = {t: med([j["train_img_s"] for j in T[(n, t)]]) for t in threads}
        tin = {t: med([j["infer_img_s"] for j in T[(n, t)]]) for t in threads}
        btr = max(threads, key=lambda t: ttr[t])
        bin_ = max(threads, key=lambda t: tin[t])
        print(f"{n:10s}  {ptr:11.0f}  {ttr[btr]:13.0f} ({btr})  {ptr / ttr[btr]:5.2f} |  {pin:11.0f}  {tin[bin_]:13.0f} "
              f"({bin_})  {pin / tin[bin_]:5.2f} |  {pgf:13.2f}  {100 * pgf / sgemm:9.1f}%")
        summary.append({"arch": n, "petri_train_img_s": ptr, "torch_train_img_s": ttr[btr], "torch_train_threads": btr,
                        "petri_infer_img_s": pin, "torch_infer_img_s": tin[bin_], "torch_infer_threads": bin_,
                        "petri_train_gflops": pgf, "sgemm_gflops": sgemm, "macs": P[n][0]["macs"],
                        "params": P[n][0]["params"],
                        "torch_train_by_threads": ttr, "torch_infer_by_threads": tin})
    print()
    print("PyTorch by thread count (train / infer images/s):")
    for s in summary:
        print(f"  {s['arch']:10s} " + "   ".join(
            f"{t} thr: {s['torch_train_by_threads'][t]:.0f} / {s['torch_infer_by_threads'][t]:.0f}" for t in threads))
    print("ratio = petri / PyTorch (> 1: petri faster); thr = PyTorch's better thread count; "
          "petri GFLOP/s = 6 x MACs x train images/s (petri's own figure); % of sgemm = that / best sgemm run")
    print(f"total {time.time() - t_start:.0f} s")
    if a.json:
        for s in summary:
            print(json.dumps(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
