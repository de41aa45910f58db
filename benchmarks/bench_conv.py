"""Conv layers and whole training steps: tinysr (numba backend) vs the NumPy reference and
PyTorch CPU (a benchmark peer only, run in subprocesses; tinysr never imports torch).

    python benchmarks/bench_conv.py [--repeats 5] [--quick] [--no-torch] [--markdown out.md]
                                    [--case SUBSTRING ...] [--gemm-auto]

Timings on a shared 2-core VM are noisy, so every number is a ratio measured in the same
run: for each case and repeat, tinysr, torch (default allocator) and torch (tuned
allocator: THP_MEM_ALLOC_ENABLE=1 GLIBC_TUNABLES=glibc.malloc.mmap_max=0:...) are timed
back to back (each: median of several iterations after warm-up), and the table shows the
median over repeats. tinysr reuses its work buffers across steps (kernels/cpu_common.py).
The output starts with the date, commit (flagged when the tree has uncommitted changes),
CPU model, thread count and load average, as STYLE.md asks of every benchmark.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from run_info import run_info   # benchmarks/ is on sys.path when run as a script

FMA_PEAK = 234.0   # GFLOP/s, FP32 FMA peak of this 2-core Zen 4 VM (measured by the issue author)
TUNED_ENV = {"THP_MEM_ALLOC_ENABLE": "1",
             "GLIBC_TUNABLES": "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"}

# name: (batch, C, H, O, k, padding)
LAYERS = {
    "SRCNN 9-1-5 conv1 1->64 9x9": (128, 1, 33, 64, 9, 0),
    "SRCNN 9-1-5 conv2 64->32 1x1": (128, 64, 25, 32, 1, 0),
    "SRCNN 9-1-5 conv3 32->1 5x5": (128, 32, 25, 1, 5, 0),
    "SRCNN 9-5-5 conv2 64->32 5x5": (128, 64, 25, 32, 5, 0),
    "SRCNN 9-5-5 conv3 32->1 5x5": (128, 32, 21, 1, 5, 0),
    "VDSR 64->64 3x3 pad 1": (64, 64, 41, 64, 3, 1),
}
# name: (batch, patch, [(C, O, k, padding)], residual)
MODELS = {
    "SRCNN 9-1-5 step": (128, 33, [(1, 64, 9, 0), (64, 32, 1, 0), (32, 1, 5, 0)], False),
    "SRCNN 9-5-5 step": (128, 33, [(1, 64, 9, 0), (64, 32, 5, 0), (32, 1, 5, 0)], False),
    "VDSR (20 layers) step": (8, 41, [(1, 64, 3, 1)] + [(64, 64, 3, 1)] * 18 + [(64, 1, 3, 1)],
                              True),
}


def layer_flops(n, c, h, o, k, p):
    ho = h + 2 * p - k + 1
    return 2.0 * n * o * c * k * k * ho * ho


def model_flops(n, h, layers, train):
    total, size = 0.0, h
    for i, (c, o, k, p) in enumerate(layers):
        f = layer_flops(n, c, size, o, k, p)
        total += f * (3 if i > 0 else 2) if train else f   # no input gradient for layer 0
        size = size + 2 * p - k + 1
    return total


def median_ms(fn, iters):
    fn()                                   # warm-up: JIT, caches, work buffers
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * sorted(times)[len(times) // 2]


# ------------------------------------------------------------------ tinysr side
def tinysr_layer(be, n, c, h, o, k, p, iters):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, h), dtype=np.float32)
    w = (rng.standard_normal((o, c, k, k), dtype=np.float32) * 0.1)
    y = be.conv2d_forward(x, w, 1, p)
    gy = rng.standard_normal(y.shape, dtype=np.float32)

    def fwd():
        be.conv2d_forward(x, w, 1, p)

    def fwd_bwd():
        be.conv2d_forward(x, w, 1, p)
        be.conv2d_backward_input(gy, w, x.shape, 1, p)
        be.conv2d_backward_weight(gy, x, w.shape, 1, p)
    return median_ms(fwd, iters), median_ms(fwd_bwd, iters)


def tinysr_step_fn(be, n, h, layers, residual):
    """One SGD-momentum training step built from backend primitives (what nn/autograd do)."""
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, h, h), dtype=np.float32)
    size = h
    for c, o, k, p in layers:
        size = size + 2 * p - k + 1
    target = rng.random((n, 1, size, size), dtype=np.float32)
    params = []
    for c, o, k, p in layers:
        w = rng.standard_normal((o, c, k, k), dtype=np.float32) * np.float32(np.sqrt(2 / (c * k * k)))
        params.append([w, np.zeros(o, np.float32), np.zeros_like(w), np.zeros(o, np.float32)])
    last = len(layers) - 1

    def step():
        acts = [x]
        for i, ((c, o, k, p), (w, b, _, _)) in enumerate(zip(layers, params)):
            z = be.conv2d_forward(acts[-1], w, 1, p)
            acts.append(be.bias_act_forward(z, b, "none" if i == last else "relu"))
        out = acts[-1] + x if residual else acts[-1]
        g = (out - target) * np.float32(2.0 / out.size)            # d MSE / d out
        for i in range(last, -1, -1):
            c, o, k, p = layers[i]
            w, b, wbuf, bbuf = params[i]
            g, gb = be.bias_act_backward(g, acts[i + 1], "none" if i == last else "relu")
            gw, _ = be.conv2d_backward_weight(g, acts[i], w.shape, 1, p)
            if i > 0:
                g = be.conv2d_backward_input(g, w, acts[i].shape, 1, p)
            be.sgd_step(w, gw, wbuf, 1e-4, 0.9, 1e-4)
            be.sgd_step(b, gb, bbuf, 1e-4, 0.9, 0.0)
    return step


# ------------------------------------------------------------------ torch side (subprocess)
def torch_worker():
    import torch
    torch.manual_seed(0)
    for line in sys.stdin:
        job = json.loads(line)
        if job["kind"] == "layer":
            n, c, h, o, k, p = job["args"]
            x = torch.randn(n, c, h, h, requires_grad=True)
            conv = torch.nn.Conv2d(c, o, k, padding=p)
            gy = torch.randn_like(conv(x))

            def fwd():
                with torch.no_grad():
                    conv(x)

            def fwd_bwd():
                x.grad = None
                conv.zero_grad(set_to_none=True)
                conv(x).backward(gy)
            res = [median_ms(fwd, job["iters"]), median_ms(fwd_bwd, job["iters"])]
        else:
            n, h, layers, residual = job["args"]
            mods = []
            for i, (c, o, k, p) in enumerate(layers):
                mods.append(torch.nn.Conv2d(c, o, k, padding=p))
                if i < len(layers) - 1:
                    mods.append(torch.nn.ReLU())
            net = torch.nn.Sequential(*mods)
            opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
            x = torch.rand(n, 1, h, h)
            size = h
            for c, o, k, p in layers:
                size = size + 2 * p - k + 1
            target = torch.rand(n, 1, size, size)

            def step():
                opt.zero_grad(set_to_none=True)
                out = net(x) + x if residual else net(x)
                torch.nn.functional.mse_loss(out, target).backward()
                opt.step()
            res = [median_ms(step, job["iters"])]
        print(json.dumps(res), flush=True)


class TorchPeer:
    def __init__(self, tuned):
        env = dict(os.environ, **(TUNED_ENV if tuned else {}))
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--torch-worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)

    def run(self, kind, args, iters):
        self.proc.stdin.write(json.dumps({"kind": kind, "args": args, "iters": iters}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def torch_available():
    try:
        return subprocess.run([sys.executable, "-c", "import torch"],
                              capture_output=True).returncode == 0
    except OSError:
        return False


def sgemm_gflops():
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    c = np.empty_like(a)
    return 2 * 2048 ** 3 / median_ms(lambda: np.matmul(a, a, out=c), 5) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="1 repeat, 3 iterations")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-numpy", action="store_true", help="skip the (slow) NumPy reference")
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--case", action="append", default=[],
                    help="only the rows whose name contains this (repeatable)")
    ap.add_argument("--gemm-auto", action="store_true",
                    help="run the pre-Winograd auto rules (conv2d_fwd v2-v6, bwd_input v2-v5), "
                         "for before/after comparisons in one sitting")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker()
    if args.quick:
        args.repeats, args.iters = 1, 3

    from tinysr.backend import numba_cpu, numpy_ref
    if args.gemm_auto:
        from tinysr.kernels.conv2d_bwd_input import conv2d_bwd_input_numba as bi
        from tinysr.kernels.conv2d_fwd import conv2d_fwd_numba as fw
        fw._IMPL["auto"] = fw.conv2d_fwd_gemm_auto
        bi._IMPL["auto"] = bi.conv2d_bwd_input_gemm_auto
    wanted = lambda name: not args.case or any(c in name for c in args.case)   # noqa: E731
    info = run_info()
    peers = {}
    if not args.no_torch and torch_available():
        peers = {"torch": TorchPeer(False), "torch tuned": TorchPeer(True)}
    blas = sgemm_gflops()
    rows = []
    for name, shape in LAYERS.items():
        if not wanted(name):
            continue
        flops = layer_flops(*shape)
        res = {"tinysr": [], **{k: [] for k in peers}}
        for _ in range(args.repeats):              # interleaved: tinysr, torch, torch tuned
            res["tinysr"].append(tinysr_layer(numba_cpu, *shape, args.iters))
            for k, peer in peers.items():
                res[k].append(peer.run("layer", list(shape), args.iters))
        ref = None if args.no_numpy else tinysr_layer(numpy_ref, *shape, 1)
        med = {k: np.median(np.array(v), axis=0) for k, v in res.items()}
        rows.append((name, flops, 3 * flops, med, ref))
    for name, (n, h, layers, residual) in MODELS.items():
        if not wanted(name):
            continue
        res = {"tinysr": [], **{k: [] for k in peers}}
        step = tinysr_step_fn(numba_cpu, n, h, layers, residual)
        for _ in range(args.repeats):
            res["tinysr"].append([median_ms(step, args.iters)])
            for k, peer in peers.items():
                res[k].append(peer.run("step", [n, h, layers, residual], args.iters))
        ref = None
        if not args.no_numpy and "VDSR" not in name:
            ref = [median_ms(tinysr_step_fn(numpy_ref, n, h, layers, residual), 1)]
        med = {k: np.median(np.array(v), axis=0) for k, v in res.items()}
        rows.append((name + f" (batch {n})", None, model_flops(n, h, layers, True), med, ref))
    for peer in peers.values():
        peer.close()

    lines = [f"Run: {info}; command: python {' '.join(sys.argv)}"
             + ("; pre-Winograd auto rules (--gemm-auto)" if args.gemm_auto else ""), "",
             f"NumPy sgemm 2048^3 in this run: {blas:.0f} GFLOP/s; FP32 FMA peak {FMA_PEAK:.0f} "
             f"GFLOP/s; repeats {args.repeats} x {args.iters} iterations (medians)", "",
             "| case | tinysr fwd ms | tinysr fwd+bwd (step) ms | GFLOP/s | % peak | x NumPy ref |"
             " x torch | x torch tuned |", "|---|---|---|---|---|---|---|---|"]
    for name, f_fwd, f_all, med, ref in rows:
        t = med["tinysr"]
        full = t[-1]
        gf = f_all / full / 1e6
        ratio = lambda k: f"{med[k][-1] / full:.2f}" if k in med else "-"   # noqa: E731
        fwd = f"{t[0]:.1f} ({f_fwd / t[0] / 1e6:.0f} GF/s)" if f_fwd else "-"
        per_s = "" if f_fwd else f", {int(name.split('batch ')[1].rstrip(')')) / full * 1e3:.0f} patches/s"
        lines.append(f"| {name} | {fwd} | {full:.1f}{per_s} | {gf:.0f} | {100 * gf / FMA_PEAK:.0f}% |"
                     f" {ref[-1] / full:.1f} |" if ref else
                     f"| {name} | {fwd} | {full:.1f}{per_s} | {gf:.0f} | {100 * gf / FMA_PEAK:.0f}% | - |")
        lines[-1] += f" {ratio('torch')} | {ratio('torch tuned')} |"
        if f_fwd and "torch" in med:
            lines[-1] += (f" fwd: x{med['torch'][0] / t[0]:.2f} / x{med['torch tuned'][0] / t[0]:.2f}")
    lines += ["", "Ratios are speed-ups of tinysr: other's time / tinysr's time (> 1: tinysr faster). "
              "fwd+bwd = forward + input gradient + weight and bias gradient, float32."]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
