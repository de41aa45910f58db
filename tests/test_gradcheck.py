"""A float64 finite-difference gradient check for every differentiable op.

Each entry of CASES builds inputs for one op from hypothesis-drawn shapes. Every case runs
under `recording_ops`, which wraps each registered op wherever a tinysr module holds it
and logs each call (the op's name, and whether each tensor argument's array is
C-contiguous). So a case passes only if it really calls its op, and a "strided" draw
passes only if the op really received a non-contiguous array. The strided view is made
inside the graph (`S(x)` = `x[..., ::2]`, a getitem view), so the finite-difference
evaluations see it too; `tinysr.tensor` would copy a strided array handed to it.
"""
import contextlib
import functools
import math
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinysr
import tinysr.functional as F
from tinysr.ops.registry import DIFFERENTIABLE_OPS
from tinysr.tensor import Tensor
from tinysr.testing import gradcheck as _gradcheck

dims = st.integers(1, 4)

# ---- the op spy ----------------------------------------------------------------------

_calls = None   # while a case runs: [(op name, (is_c_contiguous per tensor argument))]


def _tensor_args(args):
    for a in args:
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from _tensor_args(a)


def _spy(name, fn):
    @functools.wraps(fn)
    def spied(*args, **kwargs):
        _calls.append((name, tuple(bool(t.data.flags.c_contiguous) for t in _tensor_args(args))))
        return fn(*args, **kwargs)
    return spied


@contextlib.contextmanager
def recording_ops():
    """Replace every registered op, in every loaded tinysr module that holds it (tinysr.ops
    for Tensor methods, tinysr.functional for F.*, the op files for internal calls), by a
    wrapper that logs its calls; yield the log; put the originals back."""
    global _calls
    by_id = {id(fn): name for name, fn in DIFFERENTIABLE_OPS.items()}
    patched = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == "tinysr" or module_name.startswith("tinysr.")):
            continue
        for attr, value in list(vars(module).items()):
            name = by_id.get(id(value))
            if name is not None and DIFFERENTIABLE_OPS[name] is value:
                patched.append((module, attr, value))
                setattr(module, attr, _spy(name, value))
    _calls = []
    try:
        yield _calls
    finally:
        _calls = None
        for module, attr, value in patched:
            setattr(module, attr, value)


def gradcheck(fn, inputs, op=None, strided=False):
    """tinysr.testing.gradcheck; with `strided`, also assert that `op` received a
    non-contiguous array in at least one of its calls during this check."""
    start = len(_calls)
    _gradcheck(fn, inputs)
    if strided:
        seen = [flags for name, flags in _calls[start:] if name == op]
        assert any(not all(flags) for flags in seen), \
            f"a strided draw never gave {op!r} a non-contiguous array (its calls saw {seen[:3]}...)"


def run_case(op, case):
    """Run `case` under the spy; fail unless it called `op`."""
    with recording_ops() as calls:
        case()
    ran = {name for name, _ in calls}
    assert op in ran, f"the gradient check for {op!r} never called it (it called {sorted(ran)})"


# ---- inputs --------------------------------------------------------------------------

def T(rng, shape, positive=False, away_from_zero=False, strided=False):
    """A float64 leaf tensor; optionally positive or kept off 0 (kinks).

    strided=True makes the leaf twice as wide in the last axis; the case applies S(x)
    inside its graph, so the op gets a non-contiguous array of `shape`.
    """
    shape = tuple(shape)
    if strided:
        shape = shape[:-1] + (2 * shape[-1],)
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    if away_from_zero:
        a = np.sign(a) * (np.abs(a) + 0.1)
    return tinysr.tensor(a, requires_grad=True, dtype="float64")


def S(x, strided=True):
    """Every other column of the last axis: a non-contiguous view made inside the graph."""
    return x[..., ::2] if strided else x


def can_stride(shape):
    """A one-element array is always flagged contiguous, so strided draws need two."""
    return math.prod(shape) > 1


@st.composite
def broadcast_pair(draw):
    shape = draw(st.lists(dims, min_size=1, max_size=3))
    other = [1 if draw(st.booleans()) else n for n in shape]
    other = other[draw(st.integers(0, len(other) - 1)):]
    return tuple(shape), tuple(other), draw(st.integers(0, 2**16)), draw(st.booleans())


@st.composite
def conv_geometry(draw, transposed=False):
    k = draw(st.integers(1, 4))
    stride = draw(st.sampled_from([1, 2]))
    padding = draw(st.integers(0, k - 1))
    mode = "zeros" if transposed else draw(st.sampled_from(["zeros", "replicate"]))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    lo = 1 if transposed else max(1, k - 2 * padding)
    h, w = draw(st.integers(lo, 6)), draw(st.integers(lo, 7))
    return dict(n=n, c=c, o=o, h=h, w=w, k=k, stride=stride, padding=padding, mode=mode,
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)),
                strided=draw(st.booleans()))


# ---- the cases ------------------------------------------------------------------------

def binary_case(op, fn, positive_b=False):
    @given(broadcast_pair(), st.booleans())
    def check(case, strided):
        a_shape, b_shape, seed, swap = case
        if swap:
            a_shape, b_shape = b_shape, a_shape
        strided = strided and can_stride(a_shape)
        rng = np.random.default_rng(seed)
        a, b = T(rng, a_shape, strided=strided), T(rng, b_shape, positive=positive_b)
        gradcheck(lambda a, b: fn(S(a, strided), b), [a, b], op, strided)
    return check


def unary_case(op, fn, **kind):
    @given(st.lists(dims, min_size=1, max_size=3), st.integers(0, 2**16), st.booleans())
    def check(shape, seed, strided):
        strided = strided and can_stride(shape)
        rng = np.random.default_rng(seed)
        gradcheck(lambda a: fn(S(a, strided)), [T(rng, shape, strided=strided, **kind)], op, strided)
    return check


@given(st.lists(dims, min_size=1, max_size=3), st.integers(0, 2**16), st.booleans())
def check_clamp(shape, seed, strided):
    """Values on both sides of the bounds +-0.5: inside (|a| <= 0.4, gradient 1 through the
    two-sided clamp) and outside (|a| >= 0.6: clipped by it; a < -0.6 passes the one-sided
    one), 0.1 from every kink so the +-1e-6 differences never cross one."""
    shape = tuple(shape)
    if not can_stride(shape):
        shape = shape[:-1] + (2,)        # room for one value inside and one outside
    rng = np.random.default_rng(seed)
    full = shape[:-1] + (2 * shape[-1],) if strided else shape
    magnitude = np.where(rng.random(full) < 0.5, rng.uniform(0, 0.4, full), rng.uniform(0.6, 1.5, full))
    a = np.where(rng.random(full) < 0.5, -magnitude, magnitude)
    seen = S(a, strided)                 # the values clamp sees (a view: writes go to a)
    seen.flat[0], seen.flat[1] = rng.uniform(-0.4, 0.4), rng.choice([-1, 1]) * rng.uniform(0.6, 1.5)
    assert (np.abs(seen) < 0.5).any() and (np.abs(seen) > 0.5).any(), "both regions must occur"
    assert np.abs(np.abs(seen) - 0.5).min() >= 0.1, "values must stay off the kinks"
    x = tinysr.tensor(a, requires_grad=True, dtype="float64")
    gradcheck(lambda a: S(a, strided).clamp(-0.5, 0.5) + S(a, strided).clamp(high=-0.5), [x],
              "clamp", strided)


@given(conv_geometry())
def check_conv2d(g):
    rng = np.random.default_rng(g["seed"])
    s = g["strided"]
    x = T(rng, (g["n"], g["c"], g["h"], g["w"]), strided=s)
    w = T(rng, (g["o"], g["c"], g["k"], g["k"]))
    inputs = [x, w] + ([T(rng, (g["o"],))] if g["bias"] else [])
    gradcheck(lambda x, w, *b: F.conv2d(S(x, s), w, b[0] if b else None, g["stride"], g["padding"],
                                        g["mode"]), inputs, "conv2d", s)


@given(conv_geometry(transposed=True))
def check_conv_transpose2d(g):
    rng = np.random.default_rng(g["seed"])
    s = g["strided"] and can_stride((g["n"], g["c"], g["h"], g["w"]))
    x = T(rng, (g["n"], g["c"], g["h"], g["w"]), strided=s)
    w = T(rng, (g["c"], g["o"], g["k"], g["k"]))
    pad = min(g["padding"], (g["k"] - 1) // 2)
    inputs = [x, w] + ([T(rng, (g["o"],))] if g["bias"] else [])
    gradcheck(lambda x, w, *b: F.conv_transpose2d(S(x, s), w, b[0] if b else None, g["stride"], pad),
              inputs, "conv_transpose2d", s)


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 5), st.integers(1, 5),
       st.sampled_from(["none", "relu", "leaky_relu"]), st.booleans(), st.integers(0, 2**16),
       st.booleans())
def check_bias_act(n, c, h, w, act, with_bias, seed, strided):
    strided = strided and can_stride((n, c, h, w))
    rng = np.random.default_rng(seed)
    x = T(rng, (n, c, h, w), away_from_zero=True, strided=strided)
    if with_bias:
        b = tinysr.tensor(np.zeros(c), requires_grad=True, dtype="float64")  # keeps x+b off 0
        gradcheck(lambda x, b: F.bias_act(S(x, strided), b, act, 0.2), [x, b], "bias_act", strided)
    else:
        gradcheck(lambda x: F.bias_act(S(x, strided), None, act, 0.2), [x], "bias_act", strided)


@given(st.integers(2, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
       st.booleans(), st.booleans(), st.integers(0, 2**16), st.booleans())
def check_batch_norm(n, c, h, w, affine, training, seed, strided):
    rng = np.random.default_rng(seed)
    x = T(rng, (n, c, h, w), strided=strided)
    rm, rv = rng.standard_normal(c), np.abs(rng.standard_normal(c)) + 0.5
    params = [T(rng, (c,)), T(rng, (c,))] if affine else []
    gradcheck(lambda x, *p: F.batch_norm(S(x, strided), rm.copy(), rv.copy(), *(p or (None, None)),
                                         training=training), [x] + params, "batch_norm", strided)


@given(st.integers(1, 2), st.integers(1, 2), st.integers(1, 7), st.integers(1, 7),
       st.integers(1, 3), st.integers(0, 2**16), st.booleans())
def check_avg_pool2d(n, c, h, w, k, seed, strided):
    k = min(k, h, w)
    strided = strided and can_stride((n, c, h, w))
    rng = np.random.default_rng(seed)
    gradcheck(lambda x: F.avg_pool2d(S(x, strided), k), [T(rng, (n, c, h, w), strided=strided)],
              "avg_pool2d", strided)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**16), st.booleans())
def check_upsample_nearest(h, w, s, seed, strided):
    rng = np.random.default_rng(seed)
    gradcheck(lambda x: F.upsample_nearest(S(x, strided), s), [T(rng, (2, 2, h, w), strided=strided)],
              "upsample_nearest", strided)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 3),
       st.integers(0, 2**16), st.booleans())
def check_matmul(n, k, m, batch, seed, strided):
    rng = np.random.default_rng(seed)
    lead = (batch,) if batch else ()
    strided = strided and can_stride(lead + (n, k))
    gradcheck(lambda a, b: S(a, strided) @ b, [T(rng, lead + (n, k), strided=strided), T(rng, (k, m))],
              "matmul", strided)


@given(st.lists(dims, min_size=1, max_size=3), st.data())
def check_reductions(shape, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    axis = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    keep = data.draw(st.booleans())
    strided = data.draw(st.booleans()) and can_stride(shape)
    x = T(rng, shape, strided=strided)
    gradcheck(lambda x: S(x, strided).sum(axis, keep), [x], "sum", strided)
    gradcheck(lambda x: S(x, strided).mean(axis, keep), [x], "mean", strided)


@given(st.lists(st.integers(1, 4), min_size=2, max_size=3), st.integers(0, 2**16))
def check_shape_ops(shape, seed):
    """Always strided: each op gets the view S(x) (one getitem) as its input."""
    shape = tuple(shape)
    if not can_stride(shape):
        shape = shape[:-1] + (2,)
    rng = np.random.default_rng(seed)
    x = T(rng, shape, strided=True)
    gradcheck(lambda x: S(x).reshape(-1), [x], "reshape", True)
    gradcheck(lambda x: S(x).transpose(), [x], "transpose", True)
    gradcheck(lambda x: S(x)[..., ::2], [x], "getitem", True)
    gradcheck(lambda x: S(x)[np.array([0, 0, shape[0] - 1])], [x], "getitem", True)  # repeated fancy index
    gradcheck(lambda a, b: F.concat([S(a), b], axis=-1), [x, T(rng, shape[:-1] + (2,))], "concat", True)


@given(st.integers(1, 4), st.integers(1, 4), st.tuples(*[st.integers(0, 3)] * 4),
       st.sampled_from(["constant", "replicate"]), st.integers(0, 2**16), st.booleans())
def check_pad(h, w, widths, mode, seed, strided):
    rng = np.random.default_rng(seed)
    gradcheck(lambda x: F.pad(S(x, strided), widths, mode), [T(rng, (1, 2, h, w), strided=strided)],
              "pad", strided)


def loss_case(op):
    @given(st.lists(dims, min_size=1, max_size=3), st.sampled_from(["mean", "sum"]), st.integers(0, 2**16),
           st.booleans())
    def check(shape, reduction, seed, strided):
        strided = strided and can_stride(shape)
        rng = np.random.default_rng(seed)
        pred = T(rng, shape, strided=strided)
        seen = S(pred.data, strided)
        target = seen + np.sign(rng.standard_normal(shape)) * (0.1 + rng.random(shape))  # off |x|'s kink
        if op == "binary_cross_entropy_with_logits":
            target = rng.random(shape)
        t = tinysr.tensor(target, requires_grad=True, dtype="float64")
        gradcheck(lambda p, t: getattr(F, op)(S(p, strided), t, reduction=reduction), [pred, t], op, strided)
    return check


# Cases name F's functions inside lambdas (looked up when called), so the spy sees them.
CASES = {
    "add": binary_case("add", lambda a, b: a + b),
    "sub": binary_case("sub", lambda a, b: a - b),
    "mul": binary_case("mul", lambda a, b: a * b),
    "div": binary_case("div", lambda a, b: a / b, positive_b=True),
    "neg": unary_case("neg", lambda a: -a),
    "pow": unary_case("pow", lambda a: a ** 2.5, positive=True),
    "exp": unary_case("exp", lambda a: a.exp()),
    "log": unary_case("log", lambda a: a.log(), positive=True),
    "abs": unary_case("abs", lambda a: F.abs(a), away_from_zero=True),
    "clamp": check_clamp,
    "matmul": check_matmul,
    "sum": check_reductions, "mean": check_reductions,
    "reshape": check_shape_ops, "transpose": check_shape_ops, "getitem": check_shape_ops,
    "concat": check_shape_ops,
    "pad": check_pad,
    "conv2d": check_conv2d,
    "conv_transpose2d": check_conv_transpose2d,
    "bias_act": check_bias_act,
    "relu": unary_case("relu", lambda a: F.relu(a), away_from_zero=True),
    "leaky_relu": unary_case("leaky_relu", lambda a: F.leaky_relu(a, 0.2), away_from_zero=True),
    "sigmoid": unary_case("sigmoid", lambda a: F.sigmoid(a)),
    "tanh": unary_case("tanh", lambda a: F.tanh(a)),
    "batch_norm": check_batch_norm,
    "avg_pool2d": check_avg_pool2d,
    "upsample_nearest": check_upsample_nearest,
    "mse_loss": loss_case("mse_loss"),
    "l1_loss": loss_case("l1_loss"),
    "binary_cross_entropy_with_logits": loss_case("binary_cross_entropy_with_logits"),
}


@pytest.mark.parametrize("op", sorted(CASES))
def test_gradient(op):
    run_case(op, CASES[op])


def test_every_differentiable_op_has_a_gradient_check():
    missing = sorted(set(DIFFERENTIABLE_OPS) - set(CASES))
    assert not missing, f"ops without a gradient check: {missing}"


def test_a_case_that_never_calls_its_op_fails():
    """tanh posing as the check for exp: its gradients are right, the spy sees no exp."""
    @given(st.integers(0, 2**16))
    def tanh_posing_as_exp(seed):
        gradcheck(lambda a: a.tanh(), [T(np.random.default_rng(seed), (3,))])
    with pytest.raises(AssertionError, match="never called it"):
        run_case("exp", tanh_posing_as_exp)


def test_a_strided_array_given_to_tinysr_tensor_does_not_count():
    """The old way (a strided array passed to tinysr.tensor, which copies it) fails."""
    x = tinysr.tensor(np.arange(1.0, 9.0)[::2], requires_grad=True, dtype="float64")
    with recording_ops(), pytest.raises(AssertionError, match="never gave 'exp' a non-contiguous"):
        gradcheck(lambda a: a.exp(), [x], "exp", strided=True)


def test_the_spy_sees_relu_although_its_node_is_bias_act():
    x = tinysr.tensor([[1.0, -2.0]], requires_grad=True, dtype="float64")
    with recording_ops() as calls:
        F.relu(x).sum().backward()
    assert [name for name, _ in calls] == ["relu", "bias_act", "sum"]


def test_gradcheck_catches_a_wrong_gradient():
    from tinysr.ops.core import result

    def wrong_square(a):   # d(a^2)/da is 2a; this claims 3a
        return result("wrong", a.data ** 2, (a,), lambda g, needs: (3 * g * a.data,))
    x = tinysr.tensor(np.linspace(0.5, 1.5, 6), requires_grad=True, dtype="float64")
    with pytest.raises(AssertionError, match="FAILED"):
        _gradcheck(wrong_square, [x])
