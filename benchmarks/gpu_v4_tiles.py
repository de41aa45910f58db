"""Time the two warp_tiles (v4) forward-engine tiles (64x256, 64x128, and the plan's choice) on
the VDSR layer against cuDNN strict fp32 (no bias), and check the tiles give bit-identical
results. Needs a GPU; the VDSR layer and the timing are benchmarks/gpu's (bench.Layer, timing).

    PYTHONPATH=. python benchmarks/gpu_v4_tiles.py
"""
import numpy as np

from benchmarks.gpu.bench import Layer
from benchmarks.gpu.timing import load_torch, time_cupy, time_torch


def main():
    from tinysr.backend import cuda_loader
    from tinysr.kernels.conv2d_fwd import launch as fwd
    layer = Layer(64, 64, 41, 41, 64, 3, 1)             # VDSR: 64 -> 64, 3x3, pad 1, batch 64
    print("sms", cuda_loader.sm_count(), "auto", fwd.warp_tile_for(layer.rows, layer.cols, cuda_loader.sm_count()))
    passes = {"fwd": layer.fwd, "bwdin": layer.bwd_input, "bwdw": layer.bwd_weight}
    results = {}
    for tile in (256, 128, None):
        with fwd.force_warp_tile(tile):
            results[tile] = (layer.fwd().get(), layer.bwd_input().get())
            print("tile", tile, " ".join(f"{k} {time_cupy(fn, 30):.3f}" for k, fn in passes.items()),
                  f"fb {time_cupy(layer.fwd_bwd, 20):.3f}")
    print("bitident", all(np.array_equal(a, b) for a, b in zip(results[256], results[128])))
    with layer.be.use_versions(conv2d_fwd="reg_tiles", conv2d_bwd_input="reg_tiles"):
        y3, g3 = layer.fwd().get(), layer.bwd_input().get()
    y, g = results[None]
    print("reg_tiles", np.abs(y - y3).max() / np.abs(y3).max(), np.abs(g - g3).max() / np.abs(g3).max())
    for tile in (256, 128, 256, 128):                   # again, alternating: the noise between runs
        with fwd.force_warp_tile(tile):
            print(tile, f"{time_cupy(layer.fwd, 50):.3f} {time_cupy(layer.bwd_input, 50):.3f}")
    torch, tF = load_torch()
    if torch is None:
        print(tF)
        return
    try:
        torch.backends.cudnn.allow_tf32 = False
        xt = torch.as_tensor(layer.X, device="cuda").requires_grad_(True)
        wt = torch.as_tensor(layer.W, device="cuda").requires_grad_(True)
        gt = torch.as_tensor(layer.GY, device="cuda")
        t_fb = lambda: torch.autograd.grad(tF.conv2d(xt, wt, padding=1), [xt, wt], gt)  # noqa: E731
        print(f"cudnn fp32 fb {time_torch(torch, t_fb, 20, 5):.3f}")
    except Exception as e:          # noqa: BLE001 - PyTorch is an optional peer
        print(e)

if __name__ == "__main__":
    main()
