"""Optimiser updates on the GPU: the CUDA program, each entry's signature, the default
version, and the launch plans.

    sgd_step(xp, launch, p, g, buf, lr, momentum, weight_decay, version)        in place
    adam_step(xp, launch, p, g, m, v, step, lr, beta1, beta2, eps, weight_decay, version)

run on CuPy arrays (tinysr.backend.cuda_loader.launch) and on NumPy arrays through the CPU
emulator (kernels/launch_common.py says how).
"""
from ..launch_common import THREADS, cdiv, check_int32, float_dtype, grid_1d
from . import versions

KERNEL = "optim_update"
FILES = ("optim_update/optim_update.cu",)
DEFAULT_VERSION = versions.DEFAULT["cuda"]
ENTRIES = versions.TABLE.cuda_entries()     # version -> the entries compiled for it
HELPERS = {}

SIGNATURES = {
    # p, g, buf, n, has_buf, lr, momentum, weight_decay
    **{f"sgd_step_v{v}": ("T*", "const T*", "T*", "int", "int", "T", "T", "T") for v in (1, 2)},
    # p, g, m, v, n, lr, beta1, 1-beta1, beta2, 1-beta2, eps, weight_decay, 1-b1^t, 1-b2^t
    **{f"adam_step_v{v}": ("T*", "const T*", "T*", "T*", "int") + ("T",) * 9 for v in (1, 2)},
}
MAX_BLOCKS = 4096             # grid_stride: at most this many blocks of THREADS


def _grid(n, version):
    runs = versions.TABLE.plan("cuda", version, None).runs    # no fallbacks: as asked
    if runs == "per_element":
        return runs, grid_1d(n)
    return runs, ((max(1, min(cdiv(n, THREADS * 4), MAX_BLOCKS)), 1, 1), (THREADS, 1, 1))


def sgd_step(xp, launch, p, g, buf, lr, momentum, weight_decay, version):
    dt = float_dtype(p, g) if buf is None else float_dtype(p, g, buf)
    if p.shape != g.shape or (buf is not None and buf.shape != p.shape):
        raise ValueError("sgd_step: p, g and buf must have one shape")
    if p.size == 0:
        return
    check_int32(p.size)
    runs, (grid, block) = _grid(p.size, version)
    launch(KERNEL, runs, ENTRIES[runs][0], dt, grid, block,
           p, g, buf if buf is not None else p, p.size, int(buf is not None),
           lr, momentum, weight_decay)


def adam_step(xp, launch, p, g, m, v, step, lr, beta1, beta2, eps, weight_decay, version):
    dt = float_dtype(p, g, m, v)
    if not p.shape == g.shape == m.shape == v.shape:
        raise ValueError("adam_step: p, g, m and v must have one shape")
    if p.size == 0:
        return
    check_int32(p.size)
    runs, (grid, block) = _grid(p.size, version)
    launch(KERNEL, runs, ENTRIES[runs][1], dt, grid, block,
           p, g, m, v, p.size, lr, beta1, 1 - beta1, beta2, 1 - beta2, eps, weight_decay,
           1 - beta1 ** step, 1 - beta2 ** step)
