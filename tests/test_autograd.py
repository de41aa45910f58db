"""Autograd engine behaviour: fan-out, no_grad, graph freeing, dtypes, errors."""
import gc

import numpy as np
import pytest

import tinysr
import tinysr.functional as F
from tinysr.tensor import Node


def test_fan_out_accumulates():
    x = tinysr.tensor([1.5, -2.0], requires_grad=True, dtype="float64")
    y = x * x + x * 3.0 + x          # dy/dx = 2x + 4
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.5, -2.0]) + 4)


def test_gradients_accumulate_across_backward_calls():
    x = tinysr.tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_no_grad_records_nothing():
    x = tinysr.tensor([1.0], requires_grad=True)
    with tinysr.no_grad():
        y = x * 2.0
    assert y._node is None and not y.requires_grad
    assert tinysr.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = tinysr.tensor([3.0], requires_grad=True)
    y = (x * x).detach() * x
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [9.0])


def test_graph_is_freed_after_backward_with_weight_sharing():
    """A 16-step weight-shared recursion (DRCN's shape): every node is freed afterwards."""
    gc.collect()
    before = Node.live
    rng = np.random.default_rng(0)
    w = tinysr.tensor(rng.standard_normal((4, 4, 3, 3)) * 0.1, requires_grad=True)
    x = tinysr.tensor(rng.standard_normal((1, 4, 6, 6)))
    h, outs = x, []
    for _ in range(16):
        h = F.relu(F.conv2d(h, w, padding=1))
        outs.append(h)
    loss = sum((o * o).mean() for o in outs)
    assert Node.live - before > 16 * 2
    loss.backward()
    del h, outs, loss
    gc.collect()
    assert Node.live == before
    assert w.grad is not None and np.all(np.isfinite(w.grad.numpy()))


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = tinysr.tensor([1.0], requires_grad=True, dtype="float64")
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 5000], rtol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtypes_are_preserved_through_ops_and_gradients(dtype):
    rng = np.random.default_rng(1)
    x = tinysr.tensor(rng.standard_normal((2, 3, 5, 5)), requires_grad=True, dtype=dtype)
    w = tinysr.tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True, dtype=dtype)
    y = F.mse_loss(F.relu(F.conv2d(x, w, padding=1)) * 2.0 + 1.0, np.zeros((2, 2, 5, 5)))
    y.backward()
    assert y.dtype == np.dtype(dtype) and x.grad.dtype == np.dtype(dtype) and w.grad.dtype == np.dtype(dtype)


def test_python_operators_and_broadcasting():
    a = tinysr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, dtype="float64")
    b = tinysr.tensor([1.0, 2.0, 4.0], requires_grad=True, dtype="float64")
    out = ((a + b) * (a - b) / b) ** 2 + (-a) @ np.ones((3, 1))
    assert out.shape == (2, 3)
    out.sum().backward()
    assert a.grad.shape == (2, 3) and b.grad.shape == (3,)


def test_backward_needs_a_gradient_for_non_scalars():
    x = tinysr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="explicit grad"):
        (x * 2.0).backward()
    (x * 2.0).backward(np.array([1.0, 1.0], dtype=np.float32))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_clear_errors_for_bad_shapes():
    x = tinysr.tensor(np.zeros((1, 3, 8, 8)))
    with pytest.raises(ValueError, match="channels"):
        F.conv2d(x, tinysr.tensor(np.zeros((4, 2, 3, 3))))
    with pytest.raises(ValueError, match="empty"):
        F.conv2d(x, tinysr.tensor(np.zeros((4, 3, 9, 9))))
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(x, np.zeros((1, 3, 8, 7)))
    with pytest.raises(TypeError, match="float64 but weight is float32"):
        F.conv2d(x.double(), tinysr.tensor(np.zeros((4, 3, 3, 3)), dtype="float32"))
    with pytest.raises(TypeError, match="float32 or float64"):
        tinysr.tensor([1, 2], dtype="int32")


def test_to_and_numpy_round_trip():
    x = tinysr.tensor(np.arange(4.0), dtype="float32")
    assert x.to(dtype="float64").dtype == np.float64
    assert x.to("cpu") is x
    with pytest.raises(ValueError, match="unknown device"):
        x.to("tpu")
