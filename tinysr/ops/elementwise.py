"""Elementwise arithmetic with NumPy broadcasting, each forward beside its gradient."""
from tinysr.ops.core import as_tensor, result, unbroadcast
from tinysr.tensor import Tensor


def _pair(a, b):
    like = a if isinstance(a, Tensor) else b
    return as_tensor(a, like), as_tensor(b, like)


def add(a, b):
    a, b = _pair(a, b)
    def backward(g, needs):
        return unbroadcast(g, a.shape), unbroadcast(g, b.shape)
    return result("add", a.data + b.data, (a, b), backward)


def sub(a, b):
    a, b = _pair(a, b)
    def backward(g, needs):
        return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)
    return result("sub", a.data - b.data, (a, b), backward)


def mul(a, b):
    a, b = _pair(a, b)
    def backward(g, needs):
        return (unbroadcast(g * b.data, a.shape) if needs[0] else None,
                unbroadcast(g * a.data, b.shape) if needs[1] else None)
    return result("mul", a.data * b.data, (a, b), backward)


def div(a, b):
    a, b = _pair(a, b)
    def backward(g, needs):
        ga = unbroadcast(g / b.data, a.shape) if needs[0] else None
        gb = unbroadcast(-g * a.data / (b.data * b.data), b.shape) if needs[1] else None
        return ga, gb
    return result("div", a.data / b.data, (a, b), backward)


def neg(a):
    return result("neg", -a.data, (a,), lambda g, needs: (-g,))


def pow(a, exponent):
    """``a ** exponent`` for a constant (non-tensor) exponent."""
    if isinstance(exponent, Tensor):
        raise TypeError("pow takes a constant exponent; write exp(b * log(a)) for a tensor one")
    def backward(g, needs):
        return (g * exponent * a.data ** (exponent - 1),)
    return result("pow", a.data ** exponent, (a,), backward)


def exp(a):
    out = a.backend.xp.exp(a.data)
    return result("exp", out, (a,), lambda g, needs: (g * out,))


def log(a):
    return result("log", a.backend.xp.log(a.data), (a,), lambda g, needs: (g / a.data,))


def abs(a):
    xp = a.backend.xp
    return result("abs", xp.abs(a.data), (a,), lambda g, needs: (g * xp.sign(a.data),))


def clamp(a, low=None, high=None):
    """Clip to [low, high]; the gradient passes only where the value was not clipped."""
    xp = a.backend.xp
    out = xp.clip(a.data, low, high)
    def backward(g, needs):
        inside = xp.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a.data >= low
        if high is not None:
            inside &= a.data <= high
        return (g * inside,)
    return result("clamp", out, (a,), backward)


def matmul(a, b):
    """Matrix product of (..., n, k) and (..., k, m), batch axes broadcast."""
    a, b = _pair(a, b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul needs operands with at least 2 axes, got {a.shape} and {b.shape}")
    def backward(g, needs):
        ga = unbroadcast(g @ b.data.swapaxes(-1, -2), a.shape) if needs[0] else None
        gb = unbroadcast(a.data.swapaxes(-1, -2) @ g, b.shape) if needs[1] else None
        return ga, gb
    return result("matmul", a.data @ b.data, (a, b), backward)
