"""bias + activation against the float64 reference: the CPU (Numba) version, then the CUDA
versions on the GPU, or through the CPU emulator without one.
python -m tinysr.kernels.bias_act.check

Tolerances, elementwise, u = 2^-24 (float32) or 2^-53 (float64), written as check_bound's
(K + 2) * u * magnitude:
  forward  y = act(x + b): one addition and (leaky) one product, K = 2, magnitude |x| + |b|;
  gx = gy * act'(y): one product, K = 1, magnitude |gy|;
  gb = the sum of gx over N*H*W elements: K = N*H*W, magnitude sum |gx|.
The loop reference is checked against the vectorised one first (both compute in float64
whatever they are given). Exits with status 1 on any failure."""
import numpy as np

from ..cpu_tools import check_bound, finish
from ..cuda_tools import device, no_device_note
from . import bias_act_numba as K
from . import launch as L
from . import reference as R

SHAPES = [(2, 3, 5, 7), (3, 4, 17), (2, 5)]
CUDA_SHAPES = SHAPES + [(2, 3, 3075)]           # split_channel: chunks across planes


def _case(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    return x, b, gy


def check_one(name, shape, kind, x, b, gy, forward, backward):
    """forward(x, b) -> y and backward(gy, y) -> (gx, gb) against the reference."""
    count = int(np.prod(shape)) // shape[1]
    bview = (1, -1) + (1,) * (len(shape) - 2)
    y = forward(x, b)
    gx, gb = backward(gy, y)
    rgx, rgb = R.backward(gy, y, kind, 0.2)
    ok = check_bound(f"fwd {name}", y, R.forward(x, b, kind, 0.2),
                     np.abs(x) + np.abs(b).reshape(bview), 2)
    ok &= check_bound(f"gx  {name}", gx, rgx, np.abs(gy), 1)
    ok &= check_bound(f"gb  {name}", gb, rgb, R.backward(np.abs(gy), y, kind, 0.2)[1], count)
    return ok


def check_cuda():
    dev = device()
    if dev is None:
        print(no_device_note())
        return True
    ok = True
    rng = np.random.default_rng(1)
    for shape in CUDA_SHAPES:
        for kind in ("none", "relu", "leaky_relu"):
            for dtype in (np.float32, np.float64):
                x, b, gy = _case(rng, shape, dtype)
                for v in L.ENTRIES:
                    ok &= check_one(
                        f"{dev.name} {v} {shape} {kind} {np.dtype(dtype).name}", shape, kind,
                        x, b, gy,
                        lambda x, b: dev.get(L.bias_act_forward(dev.xp, dev.launch, dev.put(x),
                                                                dev.put(b), kind, 0.2, v)),
                        lambda gy, y: tuple(dev.get(a) for a in L.bias_act_backward(
                            dev.xp, dev.launch, dev.put(gy), dev.put(y), kind, 0.2, v)))
    return ok


def main():
    rng = np.random.default_rng(0)
    ok = True
    for shape in SHAPES:
        count = int(np.prod(shape)) // shape[1]
        bview = (1, -1) + (1,) * (len(shape) - 2)
        for kind in ("none", "relu", "leaky_relu"):
            for dtype in (np.float32, np.float64):
                name = f"{shape} {kind} {np.dtype(dtype).name}"
                x, b, gy = _case(rng, shape, dtype)
                ref = R.forward(x, b, kind, 0.2)
                mag = np.abs(x) + np.abs(b).reshape(bview)
                if x.size < 200:
                    ok &= check_bound(f"reference loops fwd {name}", R.forward_loops(x, b, kind, 0.2),
                                      ref, mag, 2)
                    loops, vec = R.backward_loops(gy, ref, kind, 0.2), R.backward(gy, ref, kind, 0.2)
                    ok &= check_bound(f"reference loops gx {name}", loops[0], vec[0], np.abs(gy), 1)
                    ok &= check_bound(f"reference loops gb {name}", loops[1], vec[1],
                                      R.backward(np.abs(gy), ref, kind, 0.2)[1], 2 * count)
                ok &= check_one(f"{K.DEFAULT_VERSION} {name}", shape, kind, x, b, gy,
                                lambda x, b: K.bias_act_forward(x, b, kind, 0.2),
                                lambda gy, y: K.bias_act_backward(gy, y, kind, 0.2))
    ok &= check_cuda()
    finish(ok)


if __name__ == "__main__":
    main()
