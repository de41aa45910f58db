"""bias + activation (Numba) against the float64 reference. python -m tinysr.kernels.bias_act.check

Tolerances, elementwise, u = 2^-24 (float32) or 2^-53 (float64), written as check_bound's
(K + 2) * u * magnitude:
  forward  y = act(x + b): one addition and (leaky) one product, K = 2, magnitude |x| + |b|;
  gx = gy * act'(y): one product, K = 1, magnitude |gy|;
  gb = the sum of gx over N*H*W elements: K = N*H*W, magnitude sum |gx|.
The loop reference is checked against the vectorised one first. Exits with status 1 on any
failure."""
import numpy as np

from ..cpu_tools import check_bound, finish
from . import bias_act_numba as K
from . import reference as R


def main():
    rng = np.random.default_rng(0)
    ok = True
    for shape in [(2, 3, 5, 7), (3, 4, 17), (2, 5)]:
        count = int(np.prod(shape)) // shape[1]
        bview = (1, -1) + (1,) * (len(shape) - 2)
        for kind in ("none", "relu", "leaky_relu"):
            for dtype in (np.float32, np.float64):
                name = f"{shape} {kind} {np.dtype(dtype).name}"
                x = rng.standard_normal(shape).astype(dtype)
                b = rng.standard_normal(shape[1]).astype(dtype)
                gy = rng.standard_normal(shape).astype(dtype)
                ref = R.forward(x, b, kind, 0.2)
                mag = np.abs(x) + np.abs(b).reshape(bview)
                if x.size < 200:   # float64 copies: the loops do scalar arithmetic in the input's dtype
                    x64, b64, gy64 = x.astype(np.float64), b.astype(np.float64), gy.astype(np.float64)
                    ok &= check_bound(f"reference loops fwd {name}", R.forward_loops(x64, b64, kind, 0.2),
                                      ref, mag, 2)
                    loops, vec = R.backward_loops(gy64, ref, kind, 0.2), R.backward(gy, ref, kind, 0.2)
                    ok &= check_bound(f"reference loops gx {name}", loops[0], vec[0], np.abs(gy), 1)
                    ok &= check_bound(f"reference loops gb {name}", loops[1], vec[1],
                                      R.backward(np.abs(gy), ref, kind, 0.2)[1], 2 * count)
                y = K.bias_act_forward(x, b, kind, 0.2)
                gx, gb = K.bias_act_backward(gy, y, kind, 0.2)
                rgx, rgb = R.backward(gy, y, kind, 0.2)
                ok &= check_bound(f"fwd {name}", y, ref, mag, 2)
                ok &= check_bound(f"gx  {name}", gx, rgx, np.abs(gy), 1)
                ok &= check_bound(f"gb  {name}", gb, rgb, R.backward(np.abs(gy), y, kind, 0.2)[1], count)
    finish(ok)


if __name__ == "__main__":
    main()
