#!/usr/bin/python3
"""bench_torch.py - PyTorch twins of petri's reference nets, timed the way
`petri bench` times petri, and the side-by-side tables of tools/bench.sh.

    /usr/bin/python3 tools/bench_torch.py [--nets mlp,cnn-small,cnn-mid,seed]
        [--threads 1,2] [--reps 3] [--data DIR] [--petri BIN] [--isas LIST] [--json]

Without --petri: one JSON line per (net, threads) with PyTorch's training and
inference images/s and batch-1 latency.  With --petri BIN: one table per
instruction set in --isas (default avx512,avx2 on a CPU with AVX-512, else
its best).  Each runs `BIN bench` for every net (and `BIN bench --sgemm` and
`--peak`) interleaved with the PyTorch runs, repetition by repetition, so
both sides see the same machine load, then prints the table.  petri runs
with PETRI_ISA set to the table's ISA.  In the table of the CPU's best ISA
PyTorch runs as it comes, in this process; in a lower one (avx2) it runs in
a worker process (this script with --worker) started with
ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2 and OPENBLAS_CORETYPE=Haswell,
which must be set before torch is imported; petri's runs there get
OPENBLAS_CORETYPE=Haswell too.

Twins (checked by parameter count against petri's own count):
  mlp        flatten 784 -> linear 256 -> relu -> linear 10
  cnn-small  conv3x3 16, pool, conv3x3 32, pool, gap, linear
  cnn-mid    conv3x3 32, 32, pool, 64, 64, pool, gap, linear
  seed       grow/seed.c with its defaults (16 filters, 3 stages, 1 block)
every conv without bias followed by BN (eps 1e-5, momentum 0.1).

Training step = forward, cross-entropy, backward, SGD (lr 0.01, momentum 0.9,
weight decay 5e-4 on conv/linear weights only, as nn_sgd_step does) at batch
128; inference = eval mode under torch.no_grad() at batch 256; latency = the
same at batch 1, median ms.  Inputs are Fashion-MNIST pixels / 255.  Each
measurement: warm-up steps, then enough timed steps to fill about --seconds
(half that for latency), median step time.  The thread count is set for
ATen/oneDNN (torch.set_num_threads) and for the OpenBLAS that serves torch's
linear layers (openblas_set_num_threads), so "1 thread" means one.
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


def openblas():
    """torch's OpenBLAS (ctypes), False when there is none"""
    global _openblas
    if _openblas is None:
        _openblas = False
        for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
            try:
                lib = ctypes.CDLL(name)
                lib.openblas_set_num_threads
                lib.openblas_get_corename.restype = ctypes.c_char_p
                _openblas = lib
                break
            except (OSError, AttributeError, TypeError):
                pass
    return _openblas


def set_threads(t):
    torch.set_num_threads(t)
    if openblas():
        openblas().openblas_set_num_threads(t)


# dnnl_cpu_isa_t of oneDNN 2.x
DNNL_ISA = {0x1: "SSE41", 0x3: "AVX", 0x7: "AVX2", 0x27: "AVX512_CORE", 0x67: "AVX512_CORE_VNNI",
            0xe7: "AVX512_CORE_BF16", 0x3e7: "AVX512_CORE_AMX", 0x407: "AVX2_VNNI"}


def torch_info():
    """what this process's PyTorch runs on: version, oneDNN's ISA, ATen's CPU capability, OpenBLAS core"""
    info = {"torch": torch.__version__, "onednn": "off", "aten": "?", "blas_core": "?"}
    if torch.backends.mkldnn.is_available():
        info["onednn"] = "?"
        try:
            v = ctypes.CDLL("libdnnl.so.2").dnnl_get_effective_cpu_isa()
            info["onednn"] = DNNL_ISA.get(v, hex(v))
        except (OSError, AttributeError):
            pass
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            info["aten"] = line.split(":", 1)[1].strip()
    if openblas():
        info["blas_core"] = openblas().openblas_get_corename().decode()
    return info


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

    def nparams(self, name):
        return nparams(self.model(name)[0])

    def info(self):
        return torch_info()

    def close(self):
        pass

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

        def latency_step(i):
            m(x[i % n:i % n + 1])

        m.train()
        tt, nt = timed(train_step, 4, self.seconds, 5, 400)
        m.eval()
        with torch.no_grad():
            ti, ni = timed(infer_step, 3, self.seconds, 5, 400)
            tl, nl = timed(latency_step, 10, self.seconds / 2, 50, 20000)
        m.train()
        return {"arch": name, "threads": threads, "train_img_s": TRAIN_BATCH / tt, "infer_img_s": INFER_BATCH / ti,
                "latency_ms": 1e3 * tl, "params": nparams(m), "train_steps": nt, "infer_steps": ni,
                "latency_reps": nl}


# the PyTorch side of a table whose ISA is not the CPU's best: a worker
# process started with these variables (they must be set before torch is
# imported), driven over its stdin and stdout one JSON line per request
TORCH_LIMIT = {
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
             "OPENBLAS_CORETYPE": "Haswell"},
}
# and for petri's runs in that table, beside PETRI_ISA: the same OpenBLAS kernels
PETRI_LIMIT = {"avx2": {"OPENBLAS_CORETYPE": "Haswell"}}

_workers = {}  # pid -> Popen of live workers, whose CPU time is ours


class TorchWorker:
    def __init__(self, env, data, seconds):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--data", data, "--seconds", str(seconds)]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, **env})
        _workers[self.p.pid] = self.p

    def call(self, **req):
        try:
            self.p.stdin.write(json.dumps(req) + "\n")
            self.p.stdin.flush()
            line = self.p.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise SystemExit(f"bench: the PyTorch worker stopped ({self.p.poll()})")
        return json.loads(line)

    def run(self, name, threads):
        return self.call(op="run", net=name, threads=threads)

    def nparams(self, name):
        return self.call(op="nparams", net=name)["params"]

    def info(self):
        return self.call(op="info")

    def close(self):
        self.p.stdin.close()
        self.p.wait()
        del _workers[self.p.pid]


def worker(a):
    torch.set_num_interop_threads(1)
    x, y = load_train(a.data)
    tb = TorchBench(x, y, a.seconds)
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "run":
            out = tb.run(req["net"], req["threads"])
        elif req["op"] == "nparams":
            out = {"params": tb.nparams(req["net"])}
        else:
            out = tb.info()
        print(json.dumps(out), flush=True)
    return 0


# ---- petri side ----
def run_petri(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env={**os.environ, **env} if env else None)
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
    (/proc/stat) minus our own, our children's and our live workers' CPU time."""

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
        own = t.user + t.system + t.children_user + t.children_system
        for pid in list(_workers):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
                own += (int(st[11]) + int(st[12])) / self.hz  # utime, stime
            except (OSError, ValueError, IndexError):
                pass
        return time.time(), busy, own

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


def table(a, isa, native, tb, nets, threads):
    """one side-by-side table with petri on `isa`; PyTorch unrestricted when
    isa is the CPU's best, else limited to it in a worker process"""
    pth = str(a.petri_threads)
    penv = {"PETRI_ISA": isa, **({} if isa == native else PETRI_LIMIT[isa])}
    ts = tb if isa == native else TorchWorker(TORCH_LIMIT[isa], a.data, a.seconds)
    pv = run_petri([a.petri, "version", "--json"], penv)
    ti = ts.info()
    t_start, load_start = time.time(), loadavg()
    meter = CpuMeter()
    busy = []
    pp = {}
    for n in nets:
        pp[n] = run_petri([a.petri, "bench", a.data, "--arch", n, "--threads", pth, "--steps", "3"], penv)
        if pp[n]["isa"] != isa:
            raise SystemExit(f"bench: petri ran on {pp[n]['isa']}, not {isa}")
    if isa == native:
        title = (f"petri {isa} (OpenBLAS {pv['blas_core']}) vs PyTorch {ti['torch']} as it comes (oneDNN "
                 f"{ti['onednn']}, ATen {ti['aten']}, OpenBLAS {ti['blas_core']})")
    else:
        title = (f"petri {isa} (PETRI_ISA={isa}, OpenBLAS {pv['blas_core']}) vs PyTorch {ti['torch']} limited to "
                 f"{isa} (oneDNN {ti['onednn']}, ATen {ti['aten']}, OpenBLAS {ti['blas_core']}; "
                 f"{' '.join(f'{k}={v}' for k, v in TORCH_LIMIT[isa].items())})")
    print(f"bench: {isa} table", file=sys.stderr, flush=True)

    P = {n: [] for n in nets}
    T = {(n, t): [] for n in nets for t in threads}
    sg, pk = [], []
    for r in range(a.reps):
        if a.wait_quiet > 0:
            wait_quiet(a.wait_quiet)
        rep0 = meter.sample()
        sg.append(run_petri([a.petri, "bench", "--sgemm", "--threads", pth], penv)["sgemm_gflops"])
        for k, n in enumerate(nets):
            if k == len(nets) // 2:
                pk.append(run_petri([a.petri, "bench", "--peak", "--threads", pth], penv)["peak_gflops"])
                sg.append(run_petri([a.petri, "bench", "--sgemm", "--threads", pth], penv)["sgemm_gflops"])
            # alternate who goes first, so slow drifts in load do not favour one side
            order = ("petri", "torch") if r % 2 == 0 else ("torch", "petri")
            for side in order:
                if side == "petri":
                    st = petri_steps(P[n][-1] if P[n] else pp[n], a.seconds)
                    j = run_petri([a.petri, "bench", a.data, "--arch", n, "--threads", pth, "--steps", str(st)], penv)
                    P[n].append(j)
                    if a.json:
                        print(json.dumps({"side": "petri", "table": isa, "rep": r, **j}), flush=True)
                else:
                    for t in threads:
                        j = ts.run(n, t)
                        T[(n, t)].append(j)
                        if a.json:
                            print(json.dumps({"side": "torch", "table": isa, "rep": r, **j}), flush=True)
        busy.append(meter.other(rep0))
        print(f"{isa}: rep {r + 1}/{a.reps} done ({time.time() - t_start:.0f} s; other processes used "
              f"{100 * busy[-1]:.0f}% of the CPUs)", file=sys.stderr, flush=True)
    other = meter.other()
    ts.close()

    # the machine's limits: the best run (a shared machine only ever slows a run down)
    sgemm, peak = max(sg), max(pk)
    print()
    print(f"== {title}")
    print(f"petri {a.petri} at {pth} threads, PyTorch threads tried: {','.join(map(str, threads))}; Fashion-MNIST, "
          f"train batch {TRAIN_BATCH} SGD momentum 0.9, infer batch {INFER_BATCH}, latency batch 1")
    print(f"load average {load_start} at start, {loadavg()} at end; medians of {a.reps} runs; "
          f"{time.time() - t_start:.0f} s")
    print(f"other processes (and the hypervisor) used {100 * other:.0f}% of the CPUs during the run (per repetition: "
          f"{', '.join(f'{100 * b:.0f}%' for b in busy)})")
    if other > 0.10:
        print("WARNING: the machine was shared; 2-thread figures (petri's and PyTorch's) suffer most from that")
    print(f"{isa} FMA peak ({pth} threads): {peak:.1f} GFLOP/s, best of {len(pk)} runs (runs: "
          f"{', '.join(f'{v:.1f}' for v in pk)})")
    print(f"cblas_sgemm (2048^3, {pth} threads): {sgemm:.1f} GFLOP/s, best of {len(sg)} runs (median {med(sg):.1f}; "
          f"runs: {', '.join(f'{v:.1f}' for v in sg)})")
    print()
    hdr = (f"{'':10s}  {'train images/s':^30s} |  {'infer images/s':^30s} |  {'batch-1 latency ms':^26s} |  "
           f"{'useful train':^15s}\n"
           f"{'net':10s}  {'petri':>8s}  {'torch (thr)':>13s}  {'ratio':>5s} |  {'petri':>8s}  {'torch (thr)':>13s}  "
           f"{'ratio':>5s} |  {'petri':>6s}  {'torch (thr)':>11s}  {'ratio':>5s} |  {'GFLOP/s':>7s}  {'% peak':>6s}")
    print("\n".join(h.rstrip() for h in hdr.splitlines()))
    print("-" * len(hdr.splitlines()[1]))
    summary = []
    for n in nets:
        ptr = med([j["train_img_s"] for j in P[n]])
        pin = med([j["infer_img_s"] for j in P[n]])
        plat = med([j["latency_ms"] for j in P[n]])
        pgf = med([j["train_useful_gflops"] for j in P[n]])
        ttr = {t: med([j["train_img_s"] for j in T[(n, t)]]) for t in threads}
        tin = {t: med([j["infer_img_s"] for j in T[(n, t)]]) for t in threads}
        tlat = {t: med([j["latency_ms"] for j in T[(n, t)]]) for t in threads}
        btr = max(threads, key=lambda t: ttr[t])
        bin_ = max(threads, key=lambda t: tin[t])
        blat = min(threads, key=lambda t: tlat[t])
        print(f"{n:10s}  {ptr:8.0f}  {ttr[btr]:9.0f} ({btr})  {ptr / ttr[btr]:5.2f} |  {pin:8.0f}  {tin[bin_]:9.0f} "
              f"({bin_})  {pin / tin[bin_]:5.2f} |  {plat:6.3f}  {tlat[blat]:7.3f} ({blat})  {tlat[blat] / plat:5.2f} |  "
              f"{pgf:7.2f}  {100 * pgf / peak:5.1f}%")
        summary.append({"table": isa, "arch": n, "petri_isa": isa, "torch_onednn": ti["onednn"],
                        "petri_train_img_s": ptr, "torch_train_img_s": ttr[btr], "torch_train_threads": btr,
                        "petri_infer_img_s": pin, "torch_infer_img_s": tin[bin_], "torch_infer_threads": bin_,
                        "petri_latency_ms": plat, "torch_latency_ms": tlat[blat], "torch_latency_threads": blat,
                        "petri_train_useful_gflops": pgf, "peak_gflops": peak, "sgemm_gflops": sgemm,
                        "macs": P[n][0]["macs"], "useful_macs": P[n][0]["useful_macs"], "params": P[n][0]["params"],
                        "torch_train_by_threads": ttr, "torch_infer_by_threads": tin,
                        "torch_latency_by_threads": tlat})
    print()
    print("PyTorch by thread count (train / infer images/s / latency ms):")
    for s in summary:
        print(f"  {s['arch']:10s} " + "   ".join(
            f"{t} thr: {s['torch_train_by_threads'][t]:.0f} / {s['torch_infer_by_threads'][t]:.0f} / "
            f"{s['torch_latency_by_threads'][t]:.3f}" for t in threads))
    print("ratio: petri / PyTorch images/s and PyTorch / petri latency (> 1: petri faster); thr: PyTorch's better "
          "thread count.\nlatency: one image, eval mode (PyTorch under no_grad), median. useful GFLOP/s: "
          "6 x multiply-adds of the conv\n(depthwise, 1x1 and factred's included) and linear layers per image x "
          "petri's train images/s;\nBN, ReLU, pooling, sums, GAP, loss and SGD update not counted. % peak: that / "
          f"the {isa} FMA peak above.")
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--threads", default="1,2", help="PyTorch thread settings to try")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.5, help="timed seconds per measurement")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--petri", help="petri binary: run it side by side and print the table")
    ap.add_argument("--petri-threads", type=int, default=2)
    ap.add_argument("--isas", default="",
                    help="with --petri: one table per instruction set (default: avx512,avx2 when the CPU has "
                         "AVX-512, else its best)")
    ap.add_argument("--json", action="store_true", help="with --petri: also print every raw measurement")
    ap.add_argument("--wait-quiet", type=float, default=0,
                    help="with --petri: before each repetition wait up to this many seconds for an idle machine")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a)
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

    # the CPU's best ISA, whatever PETRI_ISA says here
    have = run_petri([a.petri, "version", "--json"], {"PETRI_ISA": ""})["isas"]
    native = have[0]
    isas = [i for i in a.isas.split(",") if i] or (["avx512", "avx2"] if "avx512" in have else [native])
    for i in isas:
        if i not in have:
            raise SystemExit(f"bench: this CPU does not run {i} (it runs: {' '.join(have)})")
        if i != native and i not in TORCH_LIMIT:
            raise SystemExit(f"bench: cannot limit PyTorch to {i} (can: {', '.join(TORCH_LIMIT)}, or {native} "
                             "unlimited)")
    t_start = time.time()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, instruction sets {' '.join(have)}; "
          f"tables: {', '.join(isas)}")
    # parameter counts first: a twin that is not a twin is not worth timing
    for n in nets:
        j = run_petri([a.petri, "bench", a.data, "--arch", n, "--threads", str(a.petri_threads), "--steps", "3"])
        tp = tb.nparams(n)
        print(f"params {n:10s} petri {j['params']:8d}  torch {tp:8d}  {'ok' if tp == j['params'] else 'MISMATCH'}",
              flush=True)
        if tp != j["params"]:
            raise SystemExit(f"bench: {n}: PyTorch twin has {tp} parameters, petri's net {j['params']}")
    summary = []
    for isa in isas:
        summary += table(a, isa, native, tb, nets, threads)
    print(f"\ntotal {time.time() - t_start:.0f} s")
    if a.json:
        for s in summary:
            print(json.dumps(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
