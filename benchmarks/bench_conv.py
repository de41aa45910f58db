"""Conv layers, whole training steps and whole-image inference: tinysr (numba backend) vs the
NumPy reference and PyTorch CPU (a benchmark peer only, run in subprocesses; tinysr never
imports torch).

    python benchmarks/bench_conv.py [--repeats 5] [--quick] [--no-torch] [--markdown out.md]
                                    [--case SUBSTRING ...] [--gemm-auto]

Timings on a shared 2-core VM are noisy, so every number is a ratio measured in the same
run: for each case and repeat, tinysr, torch (default allocator) and torch (tuned
allocator: THP_MEM_ALLOC_ENABLE=1 GLIBC_TUNABLES=glibc.malloc.mmap_max=0:...) are timed
back to back (each: median of several iterations after warm-up), and the table shows the
median over repeats. torch runs with as many threads as Numba (torch.set_num_threads).
tinysr reuses its work buffers across steps (kernels/cpu_common.py).
The output starts with the date, commit (flagged when the tree has uncommitted changes),
CPU model, thread count and load average, as STYLE.md asks of every benchmark.

Cases:
  layers   one convolution, per pass: forward, backward-input, backward-weight (+ bias
           gradient), and the three together ("fwd+bwd"). torch's passes are
           aten.convolution_backward with one output mask each, its forward has a bias.
           The GAN layers (srez) take inputs already padded by the model's pad op.
  steps    one SGD-momentum training step of a whole network from backend primitives.
  infer    one image through the model's `infer` (tinysr.models, under no_grad) against the
           same network with the same weights in torch (no_grad): what `tinysr upscale`
           users wait for. The two outputs are compared once (sum and sum of squares).
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

# name: (batch, C, H, O, k, padding[, stride])   (H: the input side, already padded for GAN)
LAYERS = {
    "SRCNN 9-1-5 conv1 1->64 9x9": (128, 1, 33, 64, 9, 0),
    "SRCNN 9-1-5 conv2 64->32 1x1": (128, 64, 25, 32, 1, 0),
    "SRCNN 9-1-5 conv3 32->1 5x5": (128, 32, 25, 1, 5, 0),
    "SRCNN 9-5-5 conv2 64->32 5x5": (128, 64, 25, 32, 5, 0),
    "SRCNN 9-5-5 conv3 32->1 5x5": (128, 32, 21, 1, 5, 0),
    "VDSR 64->64 3x3 pad 1": (64, 64, 41, 64, 3, 1),
    # srez (tinysr/models/srez.py), batch 16: the discriminator's stride-2 convs after the
    # TensorFlow-SAME pad (0 before, 1 after), the generator's 3x3 convs after a 1-pixel pad
    "GAN D 3->64 3x3 s2 64x64": (16, 3, 65, 64, 3, 0, 2),
    "GAN D 64->128 3x3 s2 32x32": (16, 64, 33, 128, 3, 0, 2),
    "GAN D 128->256 3x3 s2 16x16": (16, 128, 17, 256, 3, 0, 2),
    "GAN D 256->512 3x3 s2 8x8": (16, 256, 9, 512, 3, 0, 2),
    "GAN G 256->256 3x3 16x16": (16, 256, 18, 256, 3, 0, 1),
    "GAN G 128->128 3x3 32x32": (16, 128, 34, 128, 3, 0, 1),
    "GAN G 128->128 3x3 64x64": (16, 128, 66, 128, 3, 0, 1),
}
PASSES = ("fwd", "bwd-input", "bwd-weight", "fwd+bwd")
# name: (batch, patch, [(C, O, k, padding)], residual)
MODELS = {
    "SRCNN 9-1-5 step": (128, 33, [(1, 64, 9, 0), (64, 32, 1, 0), (32, 1, 5, 0)], False),
    "SRCNN 9-5-5 step": (128, 33, [(1, 64, 9, 0), (64, 32, 5, 0), (32, 1, 5, 0)], False),
    "VDSR (20 layers) step": (8, 41, [(1, 64, 3, 1)] + [(64, 64, 3, 1)] * 18 + [(64, 1, 3, 1)],
                              True),
    "VDSR (20 layers) step b64": (64, 41, [(1, 64, 3, 1)] + [(64, 64, 3, 1)] * 18
                                  + [(64, 1, 3, 1)], True),
}
# name: (model, image side, [(C, O, k)]): SRCNN pads every layer by replicating its edge
# (the authors' imfilter 'replicate'), VDSR by zeros after clamping to the studio range
INFER = {
    "SRCNN 9-1-5 infer 1536x1536 (x3 of 512)": ("srcnn", 1536, [(1, 64, 9), (64, 32, 1),
                                                                (32, 1, 5)]),
    "VDSR-20 infer 512x512": ("vdsr", 512, [(1, 64, 3)] + [(64, 64, 3)] * 18 + [(64, 1, 3)]),
}


def layer_flops(n, c, h, o, k, p, s=1):
    ho = (h + 2 * p - k) // s + 1
    return 2.0 * n * o * c * k * k * ho * ho


def model_flops(n, h, layers, train):
    total, size = 0.0, h
    for i, (c, o, k, p) in enumerate(layers):
        f = layer_flops(n, c, size, o, k, p)
        total += f * (3 if i > 0 else 2) if train else f   # no input gradient for layer 0
        size = size + 2 * p - k + 1
    return total


def infer_flops(side, layers):
    return sum(2.0 * c * o * k * k * side * side for c, o, k in layers)


def infer_weights(layers, seed=0):
    """The same He-scaled weights and small biases for both sides, from one seed."""
    rng = np.random.default_rng(seed)
    out = []
    for c, o, k in layers:
        w = rng.standard_normal((o, c, k, k), dtype=np.float32) * np.float32(np.sqrt(2 / (c * k * k)))
        out.append((w, (rng.standard_normal(o, dtype=np.float32) * np.float32(0.01))))
    return out


def infer_input(side, seed=1):
    return np.random.default_rng(seed).random((1, 1, side, side), dtype=np.float32)


def median_ms(fn, iters):
    fn()                                   # warm-up: JIT, caches, work buffers
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * sorted(times)[len(times) // 2]


# ------------------------------------------------------------------ tinysr side
def tinysr_layer(be, n, c, h, o, k, p, s=1, iters=3):
    """ms of (fwd, bwd-input, bwd-weight, fwd+bwd)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, h), dtype=np.float32)
    w = (rng.standard_normal((o, c, k, k), dtype=np.float32) * 0.1)
    y = be.conv2d_forward(x, w, s, p)
    gy = rng.standard_normal(y.shape, dtype=np.float32)

    def fwd():
        be.conv2d_forward(x, w, s, p)

    def bwd_input():
        be.conv2d_backward_input(gy, w, x.shape, s, p)

    def bwd_weight():
        be.conv2d_backward_weight(gy, x, w.shape, s, p)

    def fwd_bwd():
        fwd()
        bwd_input()
        bwd_weight()
    return [median_ms(f, iters) for f in (fwd, bwd_input, bwd_weight, fwd_bwd)]


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


def tinysr_infer_fn(model_name, side, layers):
    """model.infer on one image through the library (Tensor, no_grad): what predict() runs."""
    import tinysr
    from tinysr.models.srcnn import SRCNN
    from tinysr.models.vdsr import VDSR
    if model_name == "srcnn":
        (_, n1, f1), (_, n2, f2), (_, _, f3) = layers
        model = SRCNN(f1, f2, f3, n1, n2)
        convs = model.convs()
    else:
        model = VDSR(depth=len(layers), width=layers[0][1])
        convs = model.convs
    for conv, (w, b) in zip(convs, infer_weights(layers)):
        conv.weight.data[...] = w
        conv.bias.data[...] = b
    x = tinysr.tensor(infer_input(side))
    out = {}

    def run():
        with tinysr.no_grad():
            out["y"] = model.infer(x)
    return run, lambda: out["y"].numpy()


# ------------------------------------------------------------------ torch side (subprocess)
def torch_worker():
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("TINYSR_BENCH_THREADS", torch.get_num_threads())))
    conv_bwd = torch.ops.aten.convolution_backward
    for line in sys.stdin:
        job = json.loads(line)
        if job["kind"] == "layer":
            n, c, h, o, k, p, *s = job["args"]
            s = s[0] if s else 1
            x = torch.randn(n, c, h, h, requires_grad=True)
            conv = torch.nn.Conv2d(c, o, k, padding=p, stride=s)
            gy = torch.randn_like(conv(x))
            xd, wd = x.detach(), conv.weight.detach()

            def fwd():
                with torch.no_grad():
                    conv(x)

            def bwd_input():
                conv_bwd(gy, xd, wd, None, [s, s], [p, p], [1, 1], False, [0, 0], 1,
                         [True, False, False])

            def bwd_weight():
                conv_bwd(gy, xd, wd, [o], [s, s], [p, p], [1, 1], False, [0, 0], 1,
                         [False, True, True])

            def fwd_bwd():
                x.grad = None
                conv.zero_grad(set_to_none=True)
                conv(x).backward(gy)
            res = [median_ms(f, job["iters"]) for f in (fwd, bwd_input, bwd_weight, fwd_bwd)]
        elif job["kind"] == "step":
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
        else:                                            # infer: the same network, same weights
            model_name, side, layers = job["args"]
            mods = []
            for i, ((c, o, k), (w, b)) in enumerate(zip(layers, infer_weights(layers))):
                if model_name == "srcnn":
                    conv = torch.nn.Conv2d(c, o, k, padding=(k - 1) // 2, padding_mode="replicate")
                else:
                    conv = torch.nn.Conv2d(c, o, k, padding=1)
                with torch.no_grad():
                    conv.weight.copy_(torch.from_numpy(w))
                    conv.bias.copy_(torch.from_numpy(b))
                mods.append(conv)
                if i < len(layers) - 1:
                    mods.append(torch.nn.ReLU(inplace=True))
            net = torch.nn.Sequential(*mods).eval()
            x = torch.from_numpy(infer_input(side))
            out = {}

            def infer():
                with torch.no_grad():
                    if model_name == "srcnn":
                        out["y"] = net(x)
                    else:
                        xc = x.clamp(16.0 / 255.0, 235.0 / 255.0)
                        out["y"] = xc + net(xc)
            res = [median_ms(infer, job["iters"])]
            y = out["y"].double()
            res.append([float(y.sum()), float((y * y).sum())])
        print(json.dumps(res), flush=True)


class TorchPeer:
    def __init__(self, tuned, threads):
        env = dict(os.environ, **(TUNED_ENV if tuned else {}), TINYSR_BENCH_THREADS=str(threads))
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

    import numba
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
        threads = numba.get_num_threads()
        peers = {"torch": TorchPeer(False, threads), "torch tuned": TorchPeer(True, threads)}
    blas = sgemm_gflops()
    rows = []          # (case, pass, flops, {side: median ms}, numpy-ref ms or None, note)

    def medians(res):
        return {k: np.median(np.array(v), axis=0) for k, v in res.items()}

    for name, shape in LAYERS.items():
        if not wanted(name):
            continue
        shape = tuple(shape) + (1,) * (7 - len(shape))
        flops = layer_flops(*shape)
        res = {"tinysr": [], **{k: [] for k in peers}}
        for _ in range(args.repeats):              # interleaved: tinysr, torch, torch tuned
            res["tinysr"].append(tinysr_layer(numba_cpu, *shape, iters=args.iters))
            for k, peer in peers.items():
                res[k].append(peer.run("layer", list(shape), args.iters))
        ref = None if args.no_numpy else tinysr_layer(numpy_ref, *shape, iters=1)[-1]
        med = medians(res)
        for i, what in enumerate(PASSES):
            f = 3 * flops if what == "fwd+bwd" else flops
            rows.append((name, what, f, {k: v[i] for k, v in med.items()},
                         ref if what == "fwd+bwd" else None, ""))
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
            ref = median_ms(tinysr_step_fn(numpy_ref, n, h, layers, residual), 1)
        med = medians(res)
        full = med["tinysr"][0]
        rows.append((name.replace(" b64", ""), f"step (batch {n}), {n / full * 1e3:.0f} patches/s",
                     model_flops(n, h, layers, True), {k: v[0] for k, v in med.items()}, ref, ""))
    for name, (model_name, side, layers) in INFER.items():
        if not wanted(name):
            continue
        res = {"tinysr": [], **{k: [] for k in peers}}
        run, output = tinysr_infer_fn(model_name, side, layers)
        note = ""
        for r in range(args.repeats):
            res["tinysr"].append([median_ms(run, args.iters)])
            for k, peer in peers.items():
                got = peer.run("infer", [model_name, side, layers], args.iters)
                res[k].append(got[:1])
                if r == 0 and k == "torch":        # the same network: compare the outputs once
                    y = output().astype(np.float64)
                    ours = [float(y.sum()), float((y * y).sum())]
                    rel = max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(ours, got[1]))
                    note = f"outputs agree with torch to {rel:.1e} (sum, sum of squares)"
        med = medians(res)
        rows.append((name, "forward, 1 image", infer_flops(side, layers),
                     {k: v[0] for k, v in med.items()}, None, note))
    for peer in peers.values():
        peer.close()

    lines = [f"Run: {info}; command: python {' '.join(sys.argv)}"
             + ("; pre-Winograd auto rules (--gemm-auto)" if args.gemm_auto else ""), "",
             f"NumPy sgemm 2048^3 in this run: {blas:.0f} GFLOP/s; FP32 FMA peak {FMA_PEAK:.0f} "
             f"GFLOP/s; repeats {args.repeats} x {args.iters} iterations (medians)", "",
             "| case | pass | tinysr ms | GFLOP/s | torch ms | torch tuned ms | x torch |"
             " x torch tuned | x NumPy ref |", "|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for name, what, flops, med, ref, note in rows:
        t = med["tinysr"]
        gf = flops / t / 1e6
        cell = lambda k: f"{med[k]:.1f}" if k in med else "-"                     # noqa: E731
        ratio = lambda k: f"{med[k] / t:.2f}" if k in med else "-"                # noqa: E731
        lines.append(f"| {name} | {what} | {t:.1f} | {gf:.0f} | {cell('torch')} | "
                     f"{cell('torch tuned')} | {ratio('torch')} | {ratio('torch tuned')} | "
                     f"{f'{ref / t:.1f}' if ref else '-'} |")
        if note:
            notes.append(f"{name}: {note}")
    lines += ["", "Ratios are speed-ups of tinysr: other's time / tinysr's time (> 1: tinysr "
              "faster). fwd+bwd = forward + input gradient + weight and bias gradient, float32; "
              "GFLOP/s counts the direct convolution's multiply-adds (Winograd does fewer)."]
    lines += notes
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
