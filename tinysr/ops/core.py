"""The two helpers every op uses: wrap inputs as tensors, and record the result's node."""
from tinysr.tensor import Node, Tensor, is_grad_enabled


def as_tensor(value, like):
    """``value`` as a Tensor; Python and NumPy scalars take ``like``'s dtype and device."""
    if isinstance(value, Tensor):
        if value.device != like.device:
            raise ValueError(f"tensors on different devices: {value.device} and {like.device}")
        return value
    return Tensor(like.backend.xp.asarray(value, dtype=like.dtype), device=like.device)


def result(op, data, parents, backward):
    """The output tensor of ``op``; it gets a graph node only when a gradient can flow."""
    device = parents[0].device
    if is_grad_enabled() and any(p.requires_grad for p in parents):
        return Tensor(data, requires_grad=True, device=device, _node=Node(op, parents, backward))
    return Tensor(data, device=device)


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting."""
    shape = tuple(shape)
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad
