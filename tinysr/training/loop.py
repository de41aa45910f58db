"""The training loop every recipe shares.

It owns what a user relies on but a recipe should not re-write: a progress bar with loss,
rate and ETA; an evaluation after each epoch; an atomic checkpoint after each epoch, from
which ``resume`` continues exactly (batch order is a function of (seed, epoch), so
nothing random has to be restored); a stop with a clear message, and the last good
checkpoint kept, when the loss or the weights stop being finite.
"""
import json
import math
import os
import time

import numpy as np

from tinysr import checkpoint
from tinysr.tensor import tensor

try:
    from tqdm.auto import tqdm
except ImportError:   # tqdm is a dependency; this keeps the loop usable in a bare env
    tqdm = None


class TrainingDiverged(RuntimeError):
    """The loss or a parameter became NaN/Inf; the message names the epoch and step."""


def _finite(x):
    return math.isfinite(float(x))


def fit(model, optimizer, epoch_batches, loss_fn, *, epochs, out_dir, meta, device="cpu",
        schedule=None, evaluate=None, after_step=None, resume=False, log_every=20,
        on_epoch_end=None, progress=True, max_steps=None, ema=None, max_seconds=None):
    """Train ``model`` and return the history dict.

    epoch_batches(epoch) -> (iterable of (x, y) NumPy or device arrays, number of samples)
    loss_fn(model, x, y) -> scalar loss Tensor (the objective that is differentiated)
    evaluate(model) -> dict of numbers, run after each epoch (e.g. {"psnr": .., "bicubic": ..})
    after_step(optimizer) runs between backward and the update (gradient clipping).
    schedule.step() is called once per epoch (or schedule.step(metric) for on-plateau
    schedules, with ``evaluate``'s "psnr", negated so that lower is better).
    meta: JSON-able model metadata stored in every checkpoint (model name, config, scale).
    ema: an optim.EMA of the model's weights, updated after every step; when given, the
    evaluation runs on the averaged weights and the checkpoint carries them.
    max_seconds: stop at the end of the first epoch by which the run's wall time (training,
    evaluation and checkpoints, summed over resumed segments) reaches it; for comparing
    recipes at equal time.
    """
    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, "checkpoint.npz")
    history = {"iteration": [], "loss": [], "eval_iteration": [], "eval": [], "epoch_seconds": [],
               "wall_seconds": []}
    start_epoch, iteration = 0, 0
    if resume:
        state = checkpoint.load(ckpt_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if schedule is not None and "schedule" in state:
            schedule.load_state_dict(state["schedule"])
        if ema is not None:
            if "ema" not in state:
                raise KeyError(f"{ckpt_path} has no weight average; resume without EMA or start over")
            ema.load_state_dict(state["ema"])
        history = json.loads(state["train"]["history"])
        start_epoch, iteration = state["train"]["epoch"], state["train"]["iteration"]
        history.setdefault("wall_seconds", [])
        print(f"resumed from {ckpt_path}: epoch {start_epoch}, iteration {iteration}")
    wall_before = history["wall_seconds"][-1] if history["wall_seconds"] else 0.0
    fit_start = time.perf_counter()

    for epoch in range(start_epoch, epochs):
        batches, n_samples = epoch_batches(epoch)
        bar = tqdm(total=n_samples, unit="patch", desc=f"epoch {epoch + 1}/{epochs}",
                   disable=not progress, dynamic_ncols=True, mininterval=1.0) if tqdm else None
        t0, pending = time.perf_counter(), []
        model.train()
        for x, y in batches:
            xt, yt = tensor(x, device=device), tensor(y, device=device)
            optimizer.zero_grad()
            loss = loss_fn(model, xt, yt)
            loss.backward()
            if after_step is not None:
                after_step(optimizer)
            optimizer.step()
            if ema is not None:
                ema.update()
            iteration += 1
            pending.append((iteration, loss.data))      # stays on the device until logged
            if bar is not None:
                bar.update(len(x))
            if len(pending) >= log_every:
                _log(pending, history, epoch, bar, ckpt_path)
            if max_steps is not None and iteration >= max_steps:
                break
        _log(pending, history, epoch, bar, ckpt_path)
        if bar is not None:
            bar.close()
        history["epoch_seconds"].append(time.perf_counter() - t0)
        _check_parameters(model, epoch, iteration, ckpt_path)

        if evaluate is None:
            metrics = {}
        elif ema is not None:
            with ema.averaged():
                metrics = evaluate(model)
        else:
            metrics = evaluate(model)
        if metrics:
            history["eval_iteration"].append(iteration)
            history["eval"].append(metrics)
            print(f"epoch {epoch + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        if schedule is not None:
            if hasattr(schedule, "patience"):
                schedule.step(-metrics["psnr"])
            else:
                schedule.step()
        history["wall_seconds"].append(wall_before + time.perf_counter() - fit_start)
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "meta": meta,
                 "train": {"epoch": epoch + 1, "iteration": iteration, "history": json.dumps(history)}}
        if schedule is not None:
            state["schedule"] = schedule.state_dict()
        if ema is not None:
            state["ema"] = ema.state_dict()
        checkpoint.save(state, ckpt_path)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if max_steps is not None and iteration >= max_steps:
            break
        if max_seconds is not None and history["wall_seconds"][-1] >= max_seconds:
            print(f"time budget of {max_seconds / 60:.1f} min reached after epoch {epoch + 1}")
            break
    return history


def _log(pending, history, epoch, bar, ckpt_path):
    if not pending:
        return
    values = [float(v) for _, v in pending]        # one host sync per log interval
    for (it, _), v in zip(pending, values):
        if not _finite(v):
            raise TrainingDiverged(
                f"loss became {v} at epoch {epoch + 1}, iteration {it}; stopped. The last good "
                f"checkpoint ({ckpt_path}, end of the previous epoch) is kept: lower the learning "
                f"rate or add gradient clipping, then --resume")
    history["iteration"].append(pending[-1][0])
    history["loss"].append(float(np.mean(values)))
    if bar is not None:
        bar.set_postfix(loss=f"{history['loss'][-1]:.3e}", refresh=False)
    pending.clear()


def _check_parameters(model, epoch, iteration, ckpt_path):
    for name, p in model.named_parameters():
        if not _finite(p.backend.xp.abs(p.data).sum()):
            raise TrainingDiverged(f"parameter {name} became non-finite in epoch {epoch + 1} "
                                   f"(by iteration {iteration}); the last good checkpoint "
                                   f"{ckpt_path} is kept")
