"""The bias + ReLU backward (gx and gb) on a VDSR activation (64x64x41x41, float32): every
CUDA version of bias_act against PyTorch's where + sum on the same data, in ms and GB/s of
its compulsory traffic (read gy and y, write gx), and the fastest verified version."""
from .timing import time_cupy, time_torch
from .verify import cuda_versions


def run(ctx, deadline, torch, shape=(64, 64, 41, 41)):
    import cupy
    from tinysr.backend import cupy_gpu as be
    out = {"shape": list(shape)}
    rng = cupy.random.default_rng(3)
    GY = rng.standard_normal(shape, dtype=cupy.float32)
    Y = cupy.maximum(rng.standard_normal(shape, dtype=cupy.float32), 0)
    nbytes = 3 * GY.size * 4
    for v in cuda_versions("bias_act"):
        deadline.check()
        try:
            with be.use_versions(bias_act=v):
                ms = time_cupy(lambda: be.bias_act_backward(GY, Y, "relu", 0.0), 20)
            out[v] = {"ms": ms, "GB_s": nbytes / ms / 1e6, "verified": ctx.verified("bias_act", v)}
        except Exception as e:      # noqa: BLE001
            out[v] = {"error": str(e)}
    if torch is not None:
        try:
            gyt, yt = torch.as_tensor(GY, device="cuda"), torch.as_tensor(Y, device="cuda")

            def t_bwd():
                gx = torch.where(yt > 0, gyt, 0.0)
                return gx, gx.sum(dim=(0, 2, 3))
            out["torch_ms"] = time_torch(torch, t_bwd, 20, 5)
        except Exception as e:      # noqa: BLE001
            out["torch_error"] = str(e)
    ok = {k: d["ms"] for k, d in out.items() if isinstance(d, dict) and d.get("verified")}
    if ok:
        out["fastest_verified"] = min(ok, key=ok.get)
    return out
