"""Job bench: conv forward and forward+backward on the SRCNN and VDSR layer shapes, ours
(the default CUDA versions) against cuDNN through PyTorch (cudnn.benchmark) in strict fp32
and TF32: median ms of 20 runs after warm-up, TFLOP/s, ratio cuDNN ms / ours. On the VDSR
layer also every version of each pass (the ladder; warp_tiles on each forward-engine tile),
the version mixes of MIXES, and the fastest mix whose versions all verified: what
DEFAULT["cuda"] in kernels/<kernel>/versions.py should say on this card. Then the bias +
ReLU backward (bench_bias_act.py).

Forward+backward counts 3 passes (2 for a first layer: no input gradient); cuDNN's
includes the bias and its gradient.
"""
import traceback

import numpy as np

from . import bench_bias_act
from .context import log
from .timing import load_torch, time_cupy, time_torch
from .verify import CONV, cuda_versions

# (forward, backward-input, backward-weight) mixes timed on the VDSR layer beside the
# default: the tensor-core engine on all three, and with warp_tiles' backward-weight
# (tf32x3's weight tile wastes a quarter of its columns on VDSR: which wins?); Winograd
# forward and backward-input with each weight pass
MIXES = (("tf32x3", "tf32x3", "tf32x3"), ("tf32x3", "tf32x3", "warp_tiles"),
         ("winograd", "winograd", "warp_tiles"), ("winograd", "winograd", "tf32x3"),
         ("winograd", "winograd", "winograd"))
LAYERS = (  # name, N, C, H, W, O, K, pad
    ("srcnn conv1 9x9 1->64", 128, 1, 33, 33, 64, 9, 0),
    ("srcnn915 conv2 1x1 64->32", 128, 64, 25, 25, 32, 1, 0),
    ("srcnn915 conv3 5x5 32->1", 128, 32, 25, 25, 1, 5, 0),
    ("srcnn955 conv2 5x5 64->32", 128, 64, 25, 25, 32, 5, 0),
    ("srcnn955 conv3 5x5 32->1", 128, 32, 21, 21, 1, 5, 0),
    ("vdsr 3x3 64->64 pad1", 64, 64, 41, 41, 64, 3, 1),
)


def mix_key(mix):
    """The results key of a mix: "tf32x3+tf32x3+warp_tiles"."""
    return "+".join(mix)


def default_versions():
    """What the library runs: each conv folder's versions.DEFAULT["cuda"]."""
    import importlib
    return {k: importlib.import_module(f"tinysr.kernels.{k}.versions").DEFAULT["cuda"] for k in CONV}


class Layer:
    """One layer's device data and our three passes at the versions in force."""

    def __init__(self, N, C, H, W, O, K, pad):
        import cupy
        from tinysr.backend import cupy_gpu
        self.be, self.pad, self.need_gx = cupy_gpu, pad, C > 1   # a first layer needs no gx
        Ho, Wo = H + 2 * pad - K + 1, W + 2 * pad - K + 1
        self.flop, self.rows, self.cols = 2.0 * N * O * Ho * Wo * C * K * K, O, N * Ho * Wo
        self.passes = 3 if self.need_gx else 2
        rng = cupy.random.default_rng(0)
        self.X = rng.standard_normal((N, C, H, W), dtype=cupy.float32)
        w = rng.standard_normal((O, C, K, K), dtype=cupy.float32) * (1.0 / np.sqrt(C * K * K))
        self.W = cupy.ascontiguousarray(w.astype(cupy.float32))
        self.GY = rng.standard_normal((N, O, Ho, Wo), dtype=cupy.float32)

    def fwd(self):
        return self.be.conv2d_forward(self.X, self.W, 1, self.pad, "zeros")

    def bwd_input(self):
        return self.be.conv2d_backward_input(self.GY, self.W, self.X.shape, 1, self.pad, "zeros")

    def bwd_weight(self):
        return self.be.conv2d_backward_weight(self.GY, self.X, self.W.shape, 1, self.pad, "zeros")

    def fwd_bwd(self):
        self.fwd()
        if self.need_gx:
            self.bwd_input()
        return self.bwd_weight()


def ladder(layer, r, deadline):
    """Every version of each pass alone; warp_tiles also forced onto each of its two
    forward-engine tiles (conv2d_fwd/launch.py: warp_tile_for)."""
    from tinysr.backend import cuda_loader
    from tinysr.kernels.conv2d_fwd import launch as fwd
    r["warp_tiles_auto_tile"] = fwd.warp_tile_for(layer.rows, layer.cols, cuda_loader.sm_count()).BN
    r["sm_count"] = cuda_loader.sm_count()
    out = r["versions"] = {}
    for v, tile in [(v, None) for v in cuda_versions("conv2d_fwd")] + [("warp_tiles", 256), ("warp_tiles", 128)]:
        deadline.check()
        key = v if tile is None else f"{v} tile 64x{tile}"
        reps = 3 if v == "direct" else 10
        try:
            with layer.be.use_versions(**dict.fromkeys(CONV, v)), fwd.force_warp_tile(tile):
                out[key] = {"fwd_ms": time_cupy(layer.fwd, reps, 1),
                            "bwd_input_ms": time_cupy(layer.bwd_input, reps, 1),
                            "bwd_weight_ms": time_cupy(layer.bwd_weight, reps, 1)}
        except Exception as e:      # noqa: BLE001
            out[key] = {"error": str(e)}


def mixes(layer, r):
    r["mix_fwdbwd_ms"] = timed = {}
    for mix in MIXES:
        try:
            with layer.be.use_versions(**dict(zip(CONV, mix))):
                timed[mix_key(mix)] = time_cupy(layer.fwd_bwd, 20)
        except Exception as e:      # noqa: BLE001
            r[f"{mix_key(mix)}_error"] = str(e)


def cudnn(torch, tF, layer, r):
    """cuDNN's forward and forward+backward (with bias), strict fp32 then TF32."""
    pad, O = layer.pad, layer.W.shape[0]
    xt, wt = torch.as_tensor(layer.X, device="cuda"), torch.as_tensor(layer.W, device="cuda")
    bt, gyt = torch.zeros(O, device="cuda"), torch.as_tensor(layer.GY, device="cuda")
    xg = xt.clone().requires_grad_(layer.need_gx)
    wg, bg = wt.clone().requires_grad_(True), bt.clone().requires_grad_(True)
    inputs = [t for t in (xg, wg, bg) if t.requires_grad]

    def t_fwd():
        with torch.no_grad():
            return tF.conv2d(xt, wt, bt, padding=pad)

    def t_fb():
        return torch.autograd.grad(tF.conv2d(xg, wg, bg, padding=pad), inputs, gyt)
    for mode, tf32 in (("fp32", False), ("tf32", True)):
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        r[f"cudnn_{mode}_fwd_ms"] = time_torch(torch, t_fwd, 20, 5)
        r[f"cudnn_{mode}_fwdbwd_ms"] = time_torch(torch, t_fb, 20, 5)
    torch.backends.cudnn.allow_tf32 = False


def rates(layer, r):
    for key in ("fwd", "fwdbwd"):
        ms = r.get(f"ours_{key}_ms")
        f = layer.flop * (1 if key == "fwd" else layer.passes)
        if ms:
            r[f"ours_{key}_tflops"] = f / ms / 1e9
            for mode in ("fp32", "tf32"):
                c = r.get(f"cudnn_{mode}_{key}_ms")
                if c:
                    r[f"cudnn_{mode}_{key}_tflops"] = f / c / 1e9
                    r[f"ratio_{mode}_{key}"] = c / ms      # >1: ours faster


def fastest_verified_mix(ctx, row):
    """Of the mixes timed on the VDSR layer and the default, the fastest whose every version
    passed verify in float32 and float64 (None if none qualifies)."""
    default = tuple(row.get("ours_versions", {}).get(k) for k in CONV)
    timed = {mix: row.get("mix_fwdbwd_ms", {}).get(mix_key(mix)) for mix in MIXES}
    timed[default] = row.get("ours_fwdbwd_ms")
    ok = {mix: ms for mix, ms in timed.items()
          if ms and all(ctx.verified(k, v) for k, v in zip(CONV, mix))}
    if not ok:
        return None
    mix = min(ok, key=ok.get)
    cudnn_ms = row.get("cudnn_fp32_fwdbwd_ms")
    return {"versions": dict(zip(CONV, mix)), "fwdbwd_ms": ok[mix],
            "x_cudnn_fp32": cudnn_ms / ok[mix] if cudnn_ms else None}


def run(ctx, rec, deadline):
    if ctx.dry_run:
        rec["status_note"] = "needs a GPU"
        return
    torch, tF = load_torch()
    if torch is None:
        rec["torch_error"] = tF
    rows = rec["rows"] = []
    for name, *shape in LAYERS:
        deadline.check()
        layer = Layer(*shape)
        r = {"layer": name, "shape": shape, "gflop_fwd": layer.flop / 1e9, "passes_fwd_bwd": layer.passes,
             "ours_versions": default_versions()}
        try:
            with layer.be.use_versions(**r["ours_versions"]):
                r["ours_fwd_ms"] = time_cupy(layer.fwd, 20)
                r["ours_fwdbwd_ms"] = time_cupy(layer.fwd_bwd, 20)
        except Exception as e:      # noqa: BLE001
            r["ours_error"] = str(e)
        if name.startswith("vdsr"):
            ladder(layer, r, deadline)
            mixes(layer, r)
        if torch is not None:
            try:
                cudnn(torch, tF, layer, r)
            except Exception:       # noqa: BLE001
                r["torch_error"] = traceback.format_exc()[-1500:]
        rates(layer, r)
        rows.append(r)
        ctx.save()
    vd = next((r for r in rows if r["layer"].startswith("vdsr")), None)
    if vd and vd.get("ratio_fp32_fwdbwd"):
        rec["vdsr_fwdbwd_fp32_ratio"] = vd["ratio_fp32_fwdbwd"]
        rec["vdsr_fwdbwd_at_least_0.8x"] = vd["ratio_fp32_fwdbwd"] >= 0.8
    if vd and vd.get("cudnn_fp32_fwdbwd_ms"):     # each mix against cuDNN strict fp32
        rec["vdsr_mixes_fwdbwd"] = {key: {"ms": ms, "x_cudnn_fp32": vd["cudnn_fp32_fwdbwd_ms"] / ms}
                                    for key, ms in vd.get("mix_fwdbwd_ms", {}).items() if ms}
    if vd:
        rec["vdsr_fastest_verified_mix"] = fastest_verified_mix(ctx, vd)
    log(f"   VDSR layer fwd+bwd x cuDNN fp32: {rec.get('vdsr_fwdbwd_fp32_ratio')}")
    rec["bias_act_bwd"] = bench_bias_act.run(ctx, deadline, torch)
