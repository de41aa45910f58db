"""SGD and Adam with parameter groups; the update itself is a backend primitive.

``param_groups`` is a list of dicts: ``{"params": [...], "lr": ..., ...}``; a group's
own keys override the optimiser's defaults (SRCNN trains its last layer and its biases
at a tenth of the rate). ``state_dict`` holds plain arrays and numbers so a checkpoint
can store it without pickling.

Data-parallel training (``tinysr.distributed``, installed by ``fit`` when there is more
than one rank) sets ``gradient_hook``: ``hook(optimizer, params)`` averages the gradients
over the ranks once per step, before anything reads them for an update.
"""
import numpy as np


class Optimizer:
    gradient_hook = None

    def __init__(self, params, defaults):
        params = list(params)
        if params and not isinstance(params[0], dict):
            params = [{"params": params}]
        self.param_groups = []
        for group in params:
            merged = dict(defaults)
            merged.update(group)
            merged["params"] = list(group["params"])
            self.param_groups.append(merged)
        self.state = [[{} for _ in g["params"]] for g in self.param_groups]
        self.step_count = 0
        self._reduced = False

    def zero_grad(self):
        self._reduced = False
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def _each(self):
        """(group, param, its state dict) for every parameter that has a gradient."""
        for group, states in zip(self.param_groups, self.state):
            for p, st in zip(group["params"], states):
                if p.grad is not None:
                    yield group, p, st

    def reduce_gradients(self):
        """Average the gradients over the ranks now, once per step (``step`` calls it). Code
        that reads gradients before the step (clipping) calls it first, so that every rank
        clips the averaged gradient, as one process would; without a hook it does nothing."""
        if self.gradient_hook is not None and not self._reduced:
            self.gradient_hook(self, [p for _, p, _ in self._each()])
            self._reduced = True

    def step(self):
        self.reduce_gradients()
        self._reduced = False
        self.step_count += 1
        for group, p, st in self._each():
            self._update(group, p, st)

    # ---- state for checkpoints ------------------------------------------------
    def state_dict(self):
        hyper = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        arrays, scalars = {}, {}
        for gi, states in enumerate(self.state):
            for pi, st in enumerate(states):
                for name, value in st.items():
                    key = f"{gi}.{pi}.{name}"
                    if isinstance(value, (int, float)):
                        scalars[key] = value
                    else:
                        arrays[key] = np.array(value.get() if hasattr(value, "get") else value)
        return {"type": type(self).__name__, "step_count": self.step_count, "groups": hyper,
                "arrays": arrays, "scalars": scalars}

    def load_state_dict(self, state):
        if state.get("type") != type(self).__name__:
            raise ValueError(f"optimiser state is for {state.get('type')}, not {type(self).__name__}")
        if len(state["groups"]) != len(self.param_groups):
            raise ValueError("optimiser state has a different number of parameter groups")
        self.step_count = int(state["step_count"])
        for group, hyper in zip(self.param_groups, state["groups"]):
            group.update(hyper)
        self.state = [[{} for _ in g["params"]] for g in self.param_groups]
        for key, value in state["arrays"].items():
            gi, pi, name = key.split(".", 2)
            p = self.param_groups[int(gi)]["params"][int(pi)]
            self.state[int(gi)][int(pi)][name] = p.backend.asarray(value, dtype=p.dtype)
        for key, value in state.get("scalars", {}).items():
            gi, pi, name = key.split(".", 2)
            self.state[int(gi)][int(pi)][name] = value


class SGD(Optimizer):
    """p -= lr * buf with buf = momentum * buf + (g + weight_decay * p) (PyTorch's form)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    def _update(self, group, p, st):
        if group["momentum"] and "momentum_buffer" not in st:
            st["momentum_buffer"] = p.backend.xp.zeros_like(p.data)
        p.backend.sgd_step(p.data, p.grad.data, st.get("momentum_buffer"), group["lr"],
                           group["momentum"], group["weight_decay"])


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    def _update(self, group, p, st):
        xp = p.backend.xp
        if "exp_avg" not in st:
            st["exp_avg"] = xp.zeros_like(p.data)
            st["exp_avg_sq"] = xp.zeros_like(p.data)
            st["step"] = 0
        st["step"] += 1
        beta1, beta2 = group["betas"]
        p.backend.adam_step(p.data, p.grad.data, st["exp_avg"], st["exp_avg_sq"], st["step"],
                            group["lr"], beta1, beta2, group["eps"], group["weight_decay"])
