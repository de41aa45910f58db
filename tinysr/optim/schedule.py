"""Learning-rate schedules; each scales every group's lr from the lr it started with."""
import math


class _Schedule:
    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.factor = 1.0

    def _apply(self):
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * self.factor

    def state_dict(self):
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state):
        vars(self).update(state)
        self._apply()


class StepLR(_Schedule):
    """Multiply the lr by ``gamma`` every ``step_size`` calls to ``step()`` (epochs or iterations)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        self.step_size, self.gamma, self.count = step_size, gamma, 0

    def step(self):
        self.count += 1
        self.factor = self.gamma ** (self.count // self.step_size)
        self._apply()


class HalvingLR(StepLR):
    """Halve the lr every ``every`` steps (the srez GAN halves every 5k batches)."""

    def __init__(self, optimizer, every):
        super().__init__(optimizer, every, gamma=0.5)


class CosineLR(_Schedule):
    """Follow half a cosine from the starting lr down to ``floor`` times it over ``total`` calls
    to ``step()``: no cliff for the weights to fall off, and the last epochs at the smallest rates."""

    def __init__(self, optimizer, total, floor=0.0):
        super().__init__(optimizer)
        self.total, self.floor, self.count = total, floor, 0

    def step(self):
        self.count += 1
        done = min(self.count, self.total) / self.total
        self.factor = self.floor + (1.0 - self.floor) * 0.5 * (1.0 + math.cos(math.pi * done))
        self._apply()


class ReduceLROnPlateau(_Schedule):
    """Multiply the lr by ``factor`` when the metric has not improved for ``patience`` calls
    (DRCN: /10 after 5 epochs without improvement, down to min_lr)."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=5, min_lr=0.0, threshold=1e-4):
        super().__init__(optimizer)
        self.mode, self.patience, self.threshold = mode, patience, threshold
        self.reduce_by, self.min_lr = factor, min_lr
        self.best, self.bad = None, 0

    def step(self, metric):
        metric = float(metric)
        better = (self.best is None or
                  (metric < self.best - self.threshold if self.mode == "min" else metric > self.best + self.threshold))
        if better:
            self.best, self.bad = metric, 0
            return
        self.bad += 1
        if self.bad > self.patience:
            self.bad = 0
            smallest = min(self.base_lrs)
            self.factor = max(self.factor * self.reduce_by, self.min_lr / smallest if smallest else 0.0)
            self._apply()
