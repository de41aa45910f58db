"""Exponential moving average of a model's weights (Polyak averaging).

After each optimiser step, shadow <- d * shadow + (1 - d) * weights. Late in training the
weights jitter around a minimum from step to step (SRCNN's Set5 PSNR moves by +-0.02 dB
between epochs at a small learning rate); the average sits nearer the centre, so it is the
copy to evaluate and to ship. The decay warms up as min(decay, (1 + t) / (10 + t)) so that
the first steps, far from the random start, are not averaged with it.
"""
from contextlib import contextmanager

import numpy as np


class EMA:
    def __init__(self, model, decay=0.999):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.model, self.decay, self.updates = model, float(decay), 0
        self.shadow = {n: p.data.copy() for n, p in model.named_parameters()}

    def update(self):
        """Fold the current weights into the average (call after optimizer.step())."""
        self.updates += 1
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for name, p in self.model.named_parameters():
            s = self.shadow[name]
            s *= d
            s += (1.0 - d) * p.data          # in place: works for NumPy and CuPy arrays

    @contextmanager
    def averaged(self):
        """Within the block the model holds the averaged weights; the live ones come back after."""
        live = {}
        for name, p in self.model.named_parameters():
            live[name], p.data = p.data, self.shadow[name].copy()
        try:
            yield self.model
        finally:
            for name, p in self.model.named_parameters():
                p.data = live[name]

    def apply(self):
        """The model keeps the averaged weights from now on (to evaluate and ship them)."""
        for name, p in self.model.named_parameters():
            p.data = self.shadow[name].copy()

    def state_dict(self):
        return {"updates": np.array(self.updates, np.int64),
                "shadow": {n: np.asarray(_host(s)).copy() for n, s in self.shadow.items()}}

    def load_state_dict(self, state):
        shadow = state["shadow"]
        if set(shadow) != set(self.shadow):
            raise KeyError(f"EMA state does not match the model: {sorted(shadow)} vs {sorted(self.shadow)}")
        for name, p in self.model.named_parameters():
            value = np.asarray(shadow[name])
            if value.shape != tuple(p.shape):
                raise ValueError(f"EMA {name}: shape {value.shape} != parameter shape {tuple(p.shape)}")
            self.shadow[name] = p.backend.asarray(value, dtype=p.dtype)
        self.updates = int(state["updates"])


def _host(a):
    return a.get() if hasattr(a, "get") else a
