"""Test helpers: ``gradcheck`` compares autograd with float64 central differences.

Small problems get the full Jacobian: numerically one column per input element,
analytically one backward pass per output element. Larger ones get a random projection:
<u, J v> by a central difference along a random direction v, against <J^T u, v> from one
backward pass with a random upstream gradient u (never ``sum()``, which hides
transposed-index bugs).
"""
import dataclasses

import numpy as np

from tinysr.tensor import Tensor, no_grad


@dataclasses.dataclass
class GradcheckReport:
    ok: bool
    mode: str                 # "jacobian" or "projection"
    worst_abs_error: float
    worst_where: str
    analytic: float
    numeric: float

    def __str__(self):
        state = "passed" if self.ok else "FAILED"
        return (f"gradcheck {state} ({self.mode}): worst |analytic - numeric| = "
                f"{self.worst_abs_error:.3g} at {self.worst_where} "
                f"(analytic {self.analytic:.10g}, numeric {self.numeric:.10g})")


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, (tuple, list)) else (out,)


def _value(fn, inputs):
    with no_grad():
        return [o.numpy().astype(np.float64) for o in _outputs(fn, inputs)]


def _analytic_vjp(fn, inputs, upstream):
    for t in inputs:
        t.grad = None
    outs = _outputs(fn, inputs)
    total = None
    for o, u in zip(outs, upstream):
        term = (o * Tensor(o.backend.asarray(u, dtype=o.dtype), device=o.device)).sum()
        total = term if total is None else total + term
    total.backward()
    return [np.zeros(t.shape) if t.grad is None else t.grad.numpy().astype(np.float64) for t in inputs]


def _check_inputs(inputs):
    for t in inputs:
        if t.dtype != np.float64:
            raise TypeError("gradcheck needs float64 inputs (float32 differences are too coarse)")


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, proj_tol=1e-6, full_limit=400, seed=0,
              raise_on_fail=True):
    """Check ``fn(*inputs)``'s gradients with respect to every input with requires_grad.

    Returns a GradcheckReport; raises AssertionError with it when the check fails.
    """
    inputs = list(inputs)
    _check_inputs(inputs)
    rng = np.random.default_rng(seed)
    wrt = [i for i, t in enumerate(inputs) if t.requires_grad]
    outs = _value(fn, inputs)
    n_in = sum(inputs[i].numel() for i in wrt)
    n_out = sum(o.size for o in outs)
    if n_in * max(n_out, 1) <= full_limit * 10 and n_in <= full_limit and n_out <= full_limit:
        report = _jacobian_check(fn, inputs, wrt, outs, eps, atol, rtol)
    else:
        report = _projection_check(fn, inputs, wrt, outs, eps, proj_tol, rng)
    if raise_on_fail and not report.ok:
        raise AssertionError(str(report))
    return report


def _perturbed(fn, inputs, index, flat_pos, delta):
    t = inputs[index]
    original = t.data
    bumped = np.array(original, dtype=np.float64, copy=True)
    bumped.reshape(-1)[flat_pos] += delta
    t.data = bumped
    try:
        return _value(fn, inputs)
    finally:
        t.data = original


def _jacobian_check(fn, inputs, wrt, outs, eps, atol, rtol):
    # numeric Jacobian: rows = outputs (concatenated), columns = inputs (concatenated)
    columns, labels = [], []
    for i in wrt:
        for pos in range(inputs[i].numel()):
            plus = _perturbed(fn, inputs, i, pos, eps)
            minus = _perturbed(fn, inputs, i, pos, -eps)
            columns.append(np.concatenate([((p - m) / (2 * eps)).ravel() for p, m in zip(plus, minus)]))
            labels.append(f"input {i} element {np.unravel_index(pos, inputs[i].shape)}")
    numeric = np.stack(columns, axis=1)
    analytic = np.zeros_like(numeric)
    row = 0
    for k, o in enumerate(outs):
        for pos in range(o.size):
            upstream = [np.zeros(x.shape) for x in outs]
            upstream[k].reshape(-1)[pos] = 1.0
            grads = _analytic_vjp(fn, inputs, upstream)
            analytic[row] = np.concatenate([grads[i].ravel() for i in wrt])
            row += 1
    err = np.abs(analytic - numeric)
    bound = atol + rtol * np.abs(numeric)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    return GradcheckReport(bool(np.all(err <= bound)), "jacobian", float(err[worst]),
                           f"output {worst[0]}, {labels[worst[1]]}",
                           float(analytic[worst]), float(numeric[worst]))


def _projection_check(fn, inputs, wrt, outs, eps, tol, rng, trials=3):
    worst = None
    for trial in range(trials):
        upstream = [rng.standard_normal(o.shape) for o in outs]
        grads = _analytic_vjp(fn, inputs, upstream)
        directions = {i: rng.standard_normal(inputs[i].shape) for i in wrt}
        analytic = sum(float((grads[i] * directions[i]).sum()) for i in wrt)
        originals = {i: inputs[i].data for i in wrt}
        values = []
        for sign in (1, -1):
            for i in wrt:
                inputs[i].data = originals[i].astype(np.float64) + sign * eps * directions[i]
            try:
                values.append(_value(fn, inputs))
            finally:
                for i in wrt:
                    inputs[i].data = originals[i]
        numeric = sum(float((u * (p - m)).sum()) / (2 * eps)
                      for u, p, m in zip(upstream, values[0], values[1]))
        err = abs(analytic - numeric)
        scale = max(1.0, abs(numeric))
        if worst is None or err / scale > worst.worst_abs_error / max(1.0, abs(worst.numeric)):
            worst = GradcheckReport(err <= tol * scale, "projection", err,
                                    f"random projection {trial}", analytic, numeric)
    return worst


def error_terms(kernel, version, dtype, terms):
    """The term count n of a test bound 2 n eps sum|a b| for a sum of `terms` products
    computed by CUDA `version` of `kernel` (eps = 2^-24 for float). Plain float: n = terms.
    A tf32x3 version in float (kernels/<kernel>/versions.py: tensor cores, 3xTF32): each
    product is off by up to about 3 * 2^-22 |ab| and the accumulators round three times a
    product, so n = 3 terms + 6."""
    import importlib
    table = importlib.import_module(f"tinysr.kernels.{kernel}.versions").TABLE
    tf32 = table.version(version).tf32x3 and np.dtype(dtype) == np.float32
    return 3 * terms + 6 if tf32 else terms


def conv_error_bound(kernel, version, a, w, x_shape, stride, pad, mode):
    """Elementwise bound on |ours - the float64 reference| for one CUDA convolution pass,
    kernel "conv2d_fwd" (a = x, w), "conv2d_bwd_input" (a = gy, w) or "conv2d_bwd_weight"
    (a = gy, w = x, x_shape = the weight's shape; the bound on gw), run by the launch plans
    at `version` in a's float type: 2 n u times the computation on absolute values, with
      - direct summation: n = the products summed (error_terms; 3xTF32 for tf32x3), plus
        the replicate fold's adds for backward-input, or the split-K partial sums for
        backward-weight;
      - where the launch plan runs "winograd" (kernels/<kernel>/launch.py: plan): n + 2 with
        n = winograd_error_terms (winograd_weight_error_terms), on winograd_magnitude
        (winograd_weight_magnitude): the transforms' absolute values.
    """
    import importlib

    from tinysr.backend import numpy_ref
    from tinysr.kernels.winograd_common import (winograd_error_terms, winograd_magnitude,
                                                winograd_weight_error_terms,
                                                winograd_weight_magnitude)

    launch = importlib.import_module(f"tinysr.kernels.{kernel}.launch")
    dtype = np.dtype(a.dtype)
    u = 2.0 ** -24 if dtype == np.float32 else 2.0 ** -53
    a64, w64 = np.abs(np.asarray(a, np.float64)), np.abs(np.asarray(w, np.float64))
    if kernel == "conv2d_bwd_weight":        # a = gy, w = x, x_shape = the weight's shape
        O, C, KH, KW = (int(s) for s in x_shape)
        if launch.plan(w.shape, x_shape, stride, pad, mode, version).runs == "winograd":
            n = winograd_weight_error_terms(a.shape, KH) + 2
            return 2 * n * u * winograd_weight_magnitude(a64, w64, pad, mode)
        n = error_terms(kernel, version, dtype, a.size // O) + 64
        return 2 * n * u * numpy_ref.conv2d_backward_weight(a64, w64, x_shape, stride, pad,
                                                            mode)[0]
    if kernel not in ("conv2d_fwd", "conv2d_bwd_input"):
        raise ValueError(f"no bound for {kernel}")
    O, C, KH, KW = w.shape
    wino = launch.plan(x_shape, w.shape, stride, pad, mode, version).runs == "winograd"
    if kernel == "conv2d_fwd":
        if wino:
            return 2 * (winograd_error_terms(C, KH) + 2) * u * winograd_magnitude(a64, w64, pad, mode)
        n = error_terms(kernel, version, dtype, C * KH * KW)
        return 2 * n * u * numpy_ref.conv2d_forward(a64, w64, stride, pad, mode)
    if wino:            # the forward's Winograd on gy padded by KH-1-pad, flipped filters
        w_flip = w64[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        return 2 * (winograd_error_terms(O, KH) + 2) * u * winograd_magnitude(a64, w_flip, KH - 1 - pad)
    n = error_terms(kernel, version, dtype, O * KH * KW + (pad + 1) ** 2)
    return 2 * n * u * numpy_ref.conv2d_backward_input(a64, w64, x_shape, stride, pad, mode)
