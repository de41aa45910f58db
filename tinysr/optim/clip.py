"""Gradient clipping: by value, by global norm, and VDSR's adjustable clipping."""
import math


def _grads(params):
    return [p.grad for p in params if p.grad is not None]


def clip_grad_value_(params, clip_value):
    """Clip every gradient element to [-clip_value, clip_value], in place."""
    for g in _grads(params):
        g.backend.xp.clip(g.data, -clip_value, clip_value, out=g.data)


def clip_grad_norm_(params, max_norm):
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping (a float; one host sync per call).
    """
    grads = _grads(params)
    total = math.sqrt(sum(float((g.data * g.data).sum()) for g in grads))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g.data *= scale
    return total


def clip_grad_adjustable_(optimizer, theta):
    """VDSR: clip each gradient element to [-theta/lr, theta/lr] using its group's lr,
    so the step lr * g never exceeds theta however large lr is."""
    for group in optimizer.param_groups:
        bound = theta / group["lr"]
        for p in group["params"]:
            if p.grad is not None:
                p.backend.xp.clip(p.grad.data, -bound, bound, out=p.grad.data)
