"""Tensor: an array plus the record of how it was made, so gradients can flow back.

Each differentiable op (``tinysr/ops``) computes its output array and a small ``backward``
closure that maps the output gradient to its inputs' gradients. ``Tensor.backward`` sorts
the graph topologically (iteratively, so DRCN's deep recursions never hit Python's
recursion limit), sweeps it once in reverse, accumulates with ``+`` (fan-out is right),
and then frees the graph.
"""
import contextlib

import numpy as np

from tinysr import backend as backends

_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Run ops without recording a graph (evaluation, optimiser updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    return _grad_enabled


class Node:
    """How a tensor was made: the op's name, its input tensors and its backward rule.

    ``backward(g, needs)`` returns one gradient array (or None) per input; ``needs[i]``
    says whether input i wants one, so an op can skip work (conv's input gradient for
    the first layer). ``Node.live`` counts nodes not yet freed; tests use it.
    """
    __slots__ = ("op", "parents", "backward")
    live = 0

    def __init__(self, op, parents, backward):
        self.op, self.parents, self.backward = op, parents, backward
        Node.live += 1

    def __del__(self):
        Node.live -= 1


_DTYPES = {"float32": np.float32, "float64": np.float64}


def _resolve_dtype(dtype):
    if dtype is None:
        return None
    dtype = np.dtype(_DTYPES.get(dtype, dtype))
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"tinysr tensors are float32 or float64, not {dtype}")
    return dtype


class Tensor:
    __slots__ = ("data", "grad", "requires_grad", "device", "_node", "__weakref__")

    def __init__(self, data, requires_grad=False, device="cpu", _node=None):
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self.device = device
        self._node = _node

    # ---- basic properties -------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def backend(self):
        return backends.get(self.device)

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        return self.data.shape[0]

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({self.numpy()!r}, device={self.device!r}{grad})"

    def numpy(self):
        """A host NumPy array of the values (a copy only when the tensor is on the GPU)."""
        return self.backend.to_numpy(self.data)

    def item(self):
        return self.numpy().item()

    def detach(self):
        return Tensor(self.data, requires_grad=False, device=self.device)

    def to(self, device=None, dtype=None):
        """A copy on another device and/or with another dtype; ``self`` if nothing changes."""
        device = device or self.device
        dtype = _resolve_dtype(dtype) or self.dtype
        if device == self.device and dtype == self.dtype:
            return self
        host = self.numpy() if device != self.device else self.data
        data = backends.get(device).asarray(host, dtype=dtype)
        return Tensor(data, requires_grad=self.requires_grad, device=device)

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    # ---- autograd ------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        if self._node is None:
            if not self.requires_grad:
                raise RuntimeError("backward() on a tensor that does not require grad "
                                   "and was not made by a differentiable op")
        xp = self.backend.xp
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() needs an explicit grad for a tensor of shape {self.shape}")
            grad = xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=self.dtype)
            if tuple(grad.shape) != self.shape:
                raise ValueError(f"grad shape {tuple(grad.shape)} does not match tensor shape {self.shape}")

        order = _topological_order(self)
        grads = {id(self): grad}
        for tensor in reversed(order):
            g = grads.pop(id(tensor), None)
            node = tensor._node
            if node is None:                       # a leaf: keep its gradient
                if g is not None and tensor.requires_grad:
                    tensor.grad = Tensor(g, device=tensor.device) if tensor.grad is None \
                        else Tensor(tensor.grad.data + g, device=tensor.device)
                continue
            tensor._node = None                    # free the graph as we go
            if g is None:
                continue
            needs = tuple(p.requires_grad for p in node.parents)
            parent_grads = node.backward(g, needs)
            for parent, pg, need in zip(node.parents, parent_grads, needs):
                if not need:
                    continue
                if pg is None:
                    raise RuntimeError(f"op {node.op!r} returned no gradient for an input that needs one")
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg

    # ---- Python operators: each one line, calling the op that defines it ------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, exponent): return ops.pow(self, exponent)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __getitem__(self, index): return ops.getitem(self, index)

    def sum(self, axis=None, keepdims=False): return ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return ops.mean(self, axis, keepdims)
    def reshape(self, *shape): return ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    def transpose(self, *axes): return ops.transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def relu(self): return ops.relu(self)
    def sigmoid(self): return ops.sigmoid(self)
    def tanh(self): return ops.tanh(self)
    def clamp(self, low=None, high=None): return ops.clamp(self, low, high)

    @property
    def T(self):
        return ops.transpose(self, None)


def _topological_order(root):
    """Tensors reachable from ``root`` through graph nodes, each after all its inputs.

    Iterative depth-first search with an explicit stack; parents are visited in their
    listed order, so the order (and floating-point summation order) is deterministic.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._node is not None:
            for parent in reversed(tensor._node.parents):
                if id(parent) not in visited:
                    stack.append((parent, False))
    return order


def tensor(data, requires_grad=False, dtype=None, device="cpu"):
    """Make a tensor from array-like ``data``.

    dtype defaults to float32 (a Tensor argument keeps its own); pass dtype="float64"
    for gradient checks and references.
    """
    dtype = _resolve_dtype(dtype)
    if isinstance(data, Tensor):
        dtype = dtype or data.dtype
        data = data.numpy()
    if dtype is None:
        dtype = np.dtype(np.float32)
    if device == "cpu":
        data = np.asarray(data)
    array = backends.get(device).asarray(data, dtype=dtype)
    return Tensor(array, requires_grad=requires_grad, device=device)


from tinysr import ops  # noqa: E402  (ops build Tensors, so they import this module first)
