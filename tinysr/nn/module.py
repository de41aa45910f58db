"""Module and Parameter: containers that find their parameters by walking attributes.

A Module's parameters are the Parameter attributes it holds, those of its child modules,
and those inside lists/tuples of modules, in attribute order; no registration needed.
Tensor attributes that are not Parameters are buffers (BatchNorm's running statistics):
they travel with ``to()`` and ``state_dict()`` but get no gradient.
"""
import numpy as np

from tinysr import backend as backends
from tinysr.tensor import Tensor


class Parameter(Tensor):
    __slots__ = ()

    def __init__(self, data, device="cpu"):
        super().__init__(data, requires_grad=True, device=device)


class Module:
    training = True

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} does not define forward()")

    # ---- walking the tree -----------------------------------------------------
    def _items(self):
        for name, value in vars(self).items():
            if isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, (Module, Tensor)):
                        yield f"{name}.{i}", item
            elif isinstance(value, (Module, Tensor)):
                yield name, value

    def named_children(self):
        return [(n, m) for n, m in self._items() if isinstance(m, Module)]

    def children(self):
        return [m for _, m in self.named_children()]

    def named_parameters(self, prefix=""):
        for name, value in self._items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix=""):
        for name, value in self._items():
            if isinstance(value, Tensor) and not isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_buffers(prefix + name + ".")

    # ---- modes and devices -------------------------------------------------------
    def train(self, mode=True):
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, device=None, dtype=None):
        """Move every parameter and buffer in place (optimisers keep their references)."""
        for _, t in list(self.named_parameters()) + list(self.named_buffers()):
            moved = t.to(device, dtype)
            t.data, t.device = moved.data, moved.device
            t.grad = None
        return self

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    # ---- state ------------------------------------------------------------------
    def state_dict(self):
        """Name -> host NumPy array copy, for every parameter and buffer."""
        state = {n: p.numpy().copy() for n, p in self.named_parameters()}
        state.update({n: b.numpy().copy() for n, b in self.named_buffers()})
        return state

    def load_state_dict(self, state, strict=True):
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if strict and (missing or unexpected):
            raise KeyError(f"state_dict does not match {type(self).__name__}: "
                           f"missing {missing}, unexpected {unexpected}")
        for name, value in state.items():
            if name not in own:
                continue
            t = own[name]
            value = np.asarray(value)
            if value.shape != t.shape:
                raise ValueError(f"{name}: checkpoint shape {value.shape} != model shape {t.shape}")
            t.data = backends.get(t.device).asarray(value, dtype=t.dtype)
        return self

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    def __repr__(self):
        lines = [f"{type(self).__name__}("]
        for name, child in self.named_children():
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines) + ")" if len(lines) > 1 else f"{type(self).__name__}()"
