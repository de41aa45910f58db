"""A float64 finite-difference gradient check for every differentiable op.

Each entry of CASES builds inputs for one op from hypothesis-drawn shapes; the last test
fails when an op in the registry has no case here.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinysr
import tinysr.functional as F
from tinysr.ops.registry import DIFFERENTIABLE_OPS
from tinysr.testing import gradcheck

dims = st.integers(1, 4)


def T(rng, shape, positive=False, away_from_zero=False, noncontiguous=False):
    """A float64 leaf tensor; optionally positive, kept off 0 (kinks), or a strided view."""
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    if away_from_zero:
        a = np.sign(a) * (np.abs(a) + 0.1)
    if noncontiguous:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
        assert not a.flags.c_contiguous or a.size <= 1
    return tinysr.tensor(a, requires_grad=True, dtype="float64")


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
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


def binary_case(op, positive_b=False):
    @given(broadcast_pair())
    def check(case):
        a_shape, b_shape, seed, swap = case
        if swap:
            a_shape, b_shape = b_shape, a_shape
        rng = np.random.default_rng(seed)
        a, b = T(rng, a_shape), T(rng, b_shape, positive=positive_b)
        gradcheck(op, [a, b])
    return check


def unary_case(op, **kind):
    @given(st.lists(dims, min_size=1, max_size=3), st.integers(0, 2**16), st.booleans())
    def check(shape, seed, noncontig):
        rng = np.random.default_rng(seed)
        gradcheck(op, [T(rng, tuple(shape), noncontiguous=noncontig, **kind)])
    return check


@given(conv_geometry())
def check_conv2d(g):
    rng = np.random.default_rng(g["seed"])
    x = T(rng, (g["n"], g["c"], g["h"], g["w"]))
    w = T(rng, (g["o"], g["c"], g["k"], g["k"]))
    inputs = [x, w] + ([T(rng, (g["o"],))] if g["bias"] else [])
    gradcheck(lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, g["stride"], g["padding"], g["mode"]),
              inputs)


@given(conv_geometry(transposed=True))
def check_conv_transpose2d(g):
    rng = np.random.default_rng(g["seed"])
    x = T(rng, (g["n"], g["c"], g["h"], g["w"]))
    w = T(rng, (g["c"], g["o"], g["k"], g["k"]))
    pad = min(g["padding"], (g["k"] - 1) // 2)
    inputs = [x, w] + ([T(rng, (g["o"],))] if g["bias"] else [])
    gradcheck(lambda x, w, *b: F.conv_transpose2d(x, w, b[0] if b else None, g["stride"], pad), inputs)


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 5), st.integers(1, 5),
       st.sampled_from(["none", "relu", "leaky_relu"]), st.booleans(), st.integers(0, 2**16))
def check_bias_act(n, c, h, w, act, with_bias, seed):
    rng = np.random.default_rng(seed)
    x = T(rng, (n, c, h, w), away_from_zero=True)
    if with_bias:
        b = tinysr.tensor(np.zeros(c), requires_grad=True, dtype="float64")  # keeps x+b off 0
        gradcheck(lambda x, b: F.bias_act(x, b, act, 0.2), [x, b])
    else:
        gradcheck(lambda x: F.bias_act(x, None, act, 0.2), [x])


@given(st.integers(2, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
       st.booleans(), st.booleans(), st.integers(0, 2**16))
def check_batch_norm(n, c, h, w, affine, training, seed):
    rng = np.random.default_rng(seed)
    x = T(rng, (n, c, h, w))
    rm, rv = rng.standard_normal(c), np.abs(rng.standard_normal(c)) + 0.5
    params = [T(rng, (c,)), T(rng, (c,))] if affine else []
    gradcheck(lambda x, *p: F.batch_norm(x, rm.copy(), rv.copy(), *(p or (None, None)),
                                         training=training), [x] + params)


@given(st.integers(1, 2), st.integers(1, 2), st.integers(1, 7), st.integers(1, 7),
       st.integers(1, 3), st.integers(0, 2**16))
def check_avg_pool2d(n, c, h, w, k, seed):
    k = min(k, h, w)
    rng = np.random.default_rng(seed)
    gradcheck(lambda x: F.avg_pool2d(x, k), [T(rng, (n, c, h, w))])


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**16))
def check_upsample_nearest(h, w, s, seed):
    rng = np.random.default_rng(seed)
    gradcheck(lambda x: F.upsample_nearest(x, s), [T(rng, (2, 2, h, w))])


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 3),
       st.integers(0, 2**16), st.booleans())
def check_matmul(n, k, m, batch, seed, noncontig):
    rng = np.random.default_rng(seed)
    lead = (batch,) if batch else ()
    gradcheck(lambda a, b: a @ b, [T(rng, lead + (n, k), noncontiguous=noncontig), T(rng, (k, m))])


@given(st.lists(dims, min_size=1, max_size=3), st.data())
def check_reductions(shape, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    axis = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    keep = data.draw(st.booleans())
    x = T(rng, tuple(shape))
    gradcheck(lambda x: x.sum(axis, keep), [x])
    gradcheck(lambda x: x.mean(axis, keep), [x])


@given(st.lists(st.integers(1, 4), min_size=2, max_size=3), st.integers(0, 2**16))
def check_shape_ops(shape, seed):
    rng = np.random.default_rng(seed)
    x = T(rng, tuple(shape), noncontiguous=True)
    gradcheck(lambda x: x.reshape(-1), [x])
    gradcheck(lambda x: x.transpose(), [x])
    gradcheck(lambda x: x[..., ::2], [x])
    gradcheck(lambda x: x[np.array([0, 0, shape[0] - 1])], [x])        # repeated fancy index
    gradcheck(lambda a, b: F.concat([a, b], axis=-1), [x, T(rng, tuple(shape[:-1]) + (2,))])


@given(st.integers(1, 4), st.integers(1, 4), st.tuples(*[st.integers(0, 3)] * 4),
       st.sampled_from(["constant", "replicate"]), st.integers(0, 2**16))
def check_pad(h, w, widths, mode, seed):
    rng = np.random.default_rng(seed)
    gradcheck(lambda x: F.pad(x, widths, mode), [T(rng, (1, 2, h, w))])


def loss_case(op):
    @given(st.lists(dims, min_size=1, max_size=3), st.sampled_from(["mean", "sum"]), st.integers(0, 2**16))
    def check(shape, reduction, seed):
        rng = np.random.default_rng(seed)
        pred = T(rng, tuple(shape))
        target = pred.data + np.sign(rng.standard_normal(shape)) * (0.1 + rng.random(shape))  # off |x|'s kink
        if op is F.binary_cross_entropy_with_logits:
            target = rng.random(shape)
        t = tinysr.tensor(target, requires_grad=True, dtype="float64")
        gradcheck(lambda p, t: op(p, t, reduction=reduction), [pred, t])
    return check


CASES = {
    "add": binary_case(lambda a, b: a + b),
    "sub": binary_case(lambda a, b: a - b),
    "mul": binary_case(lambda a, b: a * b),
    "div": binary_case(lambda a, b: a / b, positive_b=True),
    "neg": unary_case(lambda a: -a),
    "pow": unary_case(lambda a: a ** 2.5, positive=True),
    "exp": unary_case(lambda a: a.exp()),
    "log": unary_case(lambda a: a.log(), positive=True),
    "abs": unary_case(F.abs, away_from_zero=True),
    "clamp": unary_case(lambda a: a.clamp(-0.05, 0.05) + a.clamp(low=0.07), away_from_zero=True),
    "matmul": check_matmul,
    "sum": check_reductions, "mean": check_reductions,
    "reshape": check_shape_ops, "transpose": check_shape_ops, "getitem": check_shape_ops,
    "concat": check_shape_ops,
    "pad": check_pad,
    "conv2d": check_conv2d,
    "conv_transpose2d": check_conv_transpose2d,
    "bias_act": check_bias_act,
    "relu": unary_case(F.relu, away_from_zero=True),
    "leaky_relu": unary_case(lambda a: F.leaky_relu(a, 0.2), away_from_zero=True),
    "sigmoid": unary_case(F.sigmoid),
    "tanh": unary_case(F.tanh),
    "batch_norm": check_batch_norm,
    "avg_pool2d": check_avg_pool2d,
    "upsample_nearest": check_upsample_nearest,
    "mse_loss": loss_case(F.mse_loss),
    "l1_loss": loss_case(F.l1_loss),
    "binary_cross_entropy_with_logits": loss_case(F.binary_cross_entropy_with_logits),
}


@pytest.mark.parametrize("op", sorted(CASES))
def test_gradient(op):
    CASES[op]()


def test_every_differentiable_op_has_a_gradient_check():
    missing = sorted(set(DIFFERENTIABLE_OPS) - set(CASES))
    assert not missing, f"ops without a gradient check: {missing}"


def test_gradcheck_catches_a_wrong_gradient():
    from tinysr.ops.core import result

    def wrong_square(a):   # d(a^2)/da is 2a; this claims 3a
        return result("wrong", a.data ** 2, (a,), lambda g, needs: (3 * g * a.data,))
    x = tinysr.tensor(np.linspace(0.5, 1.5, 6), requires_grad=True, dtype="float64")
    with pytest.raises(AssertionError, match="FAILED"):
        gradcheck(wrong_square, [x])
