"""bias + activation (Numba) against the float64 reference. python -m tinysr.kernels.bias_act.check"""
import numpy as np

from . import bias_act_numba as K
from . import reference as R


def main():
    rng = np.random.default_rng(0)
    for shape in [(2, 3, 5, 7), (3, 4, 17), (2, 5)]:
        for kind in ("none", "relu", "leaky_relu"):
            for dtype in (np.float32, np.float64):
                x = rng.standard_normal(shape).astype(dtype)
                b = rng.standard_normal(shape[1]).astype(dtype)
                gy = rng.standard_normal(shape).astype(dtype)
                ref = R.forward(x, b, kind, 0.2)
                if x.size < 200:
                    assert np.allclose(ref, R.forward_loops(x, b, kind, 0.2))
                    for a, c in zip(R.backward(gy, ref, kind, 0.2), R.backward_loops(gy, ref, kind, 0.2)):
                        assert np.allclose(a, c)
                y = K.bias_act_forward(x, b, kind, 0.2)
                gx, gb = K.bias_act_backward(gy, y, kind, 0.2)
                rgx, rgb = R.backward(gy, y, kind, 0.2)
                print(f"{shape} {kind:10s} {np.dtype(dtype).name}: fwd {np.abs(y - ref).max():.1e} "
                      f"gx {np.abs(gx - rgx).max():.1e} gb {np.abs(gb - rgb).max():.1e}")


if __name__ == "__main__":
    main()
