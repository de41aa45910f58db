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
from tinysr.checkpoint import CheckpointError
from tinysr.errors import MissingFileError, OutputError, RunStopped, TrainingInterrupted
from tinysr.tensor import tensor

try:
    from tqdm.auto import tqdm
except ImportError:   # tqdm is a dependency; this keeps the loop usable in a bare env
    tqdm = None


CHECKPOINT = "checkpoint.npz"


class TrainingDiverged(RunStopped):
    """The loss or a parameter became NaN/Inf; the message names the epoch and step."""


def _finite(x):
    return math.isfinite(float(x))


def check_run_folder(out_dir, resume, overwrite=False):
    """Before any data is loaded: ``--resume`` needs a checkpoint in ``out_dir``, and a new
    run must not silently replace one (``overwrite`` says it may). Creates nothing."""
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    if resume:
        if not os.path.exists(ckpt_path):
            raise MissingFileError(f"--resume: no checkpoint {ckpt_path} to continue from; "
                                   "start without --resume")
        checkpoint.load(ckpt_path)       # a corrupt or foreign file fails now, not after loading data
    elif os.path.exists(ckpt_path) and not overwrite:
        raise OutputError(f"{out_dir} already holds a run ({ckpt_path}); pass --resume to continue it, "
                          "--overwrite to start over, or choose another --out")
    return ckpt_path


def fit(model, optimizer, epoch_batches, loss_fn, *, epochs, out_dir, meta, device="cpu",
        schedule=None, evaluate=None, after_step=None, resume=False, log_every=20,
        on_epoch_end=None, on_stop=None, progress=True, max_steps=None, ema=None, max_seconds=None):
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
    on_stop(history) runs however the run ends (done, a budget, Ctrl-C, divergence), e.g.
    to draw the figures of what was trained.
    Ctrl-C raises TrainingInterrupted and a non-finite loss TrainingDiverged; both say
    where the run stopped and which checkpoint holds the last good state.
    """
    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
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
                raise CheckpointError(f"{ckpt_path} has no weight average; resume without EMA or start over")
            ema.load_state_dict(state["ema"])
        history = json.loads(state["train"]["history"])
        start_epoch, iteration = state["train"]["epoch"], state["train"]["iteration"]
        history.setdefault("wall_seconds", [])
        print(f"resumed from {ckpt_path}: epoch {start_epoch}, iteration {iteration}")
    wall_before = history["wall_seconds"][-1] if history["wall_seconds"] else 0.0
    fit_start = time.perf_counter()
    clock = _RunClock(epochs, start_epoch, max_steps, iteration, max_seconds, wall_before)
    saved = {"epoch": start_epoch, "iteration": iteration}
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, epochs):
            batches, n_samples = epoch_batches(epoch)
            bar = None
            t0, pending = time.perf_counter(), []
            model.train()
            for x, y in batches:
                first = clock.steps_timed is None
                if first and progress:
                    print("preparing the kernels for the first step (compiled once, then cached; "
                          "up to a minute on a first run) ...", end="", flush=True)
                t_step = time.perf_counter()
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
                if first:
                    clock.started(len(x), n_samples)
                    if progress:
                        print(f" {time.perf_counter() - t_step:.1f} s", flush=True)
                else:
                    clock.stepped()
                if bar is None and tqdm is not None:   # made after the first step: its rate and ETA
                    bar = tqdm(total=n_samples, initial=0, unit="patch",     # exclude compilation
                               desc=f"epoch {epoch + 1}/{epochs}", disable=not progress,
                               dynamic_ncols=True, mininterval=1.0)
                if bar is not None:
                    bar.update(len(x))
                if len(pending) >= log_every:
                    _log(pending, history, epoch, bar, ckpt_path, clock, saved)
                if max_steps is not None and iteration >= max_steps:
                    break
            _log(pending, history, epoch, bar, ckpt_path, clock, saved)
            if bar is not None:
                bar.close()
            history["epoch_seconds"].append(time.perf_counter() - t0)
            _check_parameters(model, epoch, iteration, ckpt_path)

            t_eval = time.perf_counter()
            if evaluate is None:
                metrics = {}
            elif ema is not None:
                with ema.averaged():
                    metrics = evaluate(model)
            else:
                metrics = evaluate(model)
            if schedule is not None:
                if hasattr(schedule, "patience"):
                    schedule.step(-metrics["psnr"])
                else:
                    schedule.step()
            history["wall_seconds"].append(wall_before + time.perf_counter() - fit_start)
            if metrics:
                history["eval_iteration"].append(iteration)
                history["eval"].append(metrics)
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "meta": meta,
                     "train": {"epoch": epoch + 1, "iteration": iteration, "history": json.dumps(history)}}
            if schedule is not None:
                state["schedule"] = schedule.state_dict()
            if ema is not None:
                state["ema"] = ema.state_dict()
            checkpoint.save(state, ckpt_path)
            saved.update(epoch=epoch + 1, iteration=iteration)
            clock.evaluated(time.perf_counter() - t_eval)       # evaluation + checkpoint
            clock.epoch_done(epoch + 1, iteration, history["wall_seconds"][-1])
            print(f"epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                  + ("; " if metrics else "") + f"run ETA {clock.eta_text()}")
            if on_epoch_end is not None:
                on_epoch_end(epoch, history)
            if max_steps is not None and iteration >= max_steps:
                print(f"step budget of {max_steps} iterations reached in epoch {epoch + 1}")
                break
            if max_seconds is not None and history["wall_seconds"][-1] >= max_seconds:
                print(f"time budget of {max_seconds / 60:.1f} min reached after epoch {epoch + 1}")
                break
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"interrupted in epoch {epoch + 1} at iteration {iteration}; {_kept(ckpt_path, saved)}") from None
    finally:
        if on_stop is not None and history["iteration"]:
            on_stop(history)
    return history


def _kept(ckpt_path, saved):
    if saved["epoch"] == 0:
        return "no epoch had finished, so there is no checkpoint yet"
    return f"{ckpt_path} holds the end of epoch {saved['epoch']} (iteration {saved['iteration']})"


class _RunClock:
    """The whole run's ETA (the bar's covers one epoch), from this process's rates only:
    the first step, which compiles the kernels, is left out."""

    def __init__(self, epochs, epoch, max_steps, iteration, max_seconds, wall):
        self.epochs, self.epoch, self.max_steps, self.iteration = epochs, epoch, max_steps, iteration
        self.max_seconds, self.wall = max_seconds, wall
        self.steps_timed, self.eval_seconds = None, []

    def started(self, batch, samples_per_epoch):
        self.steps_timed, self.t0 = 0, time.perf_counter()
        self.per_epoch = max(-(-samples_per_epoch // max(batch, 1)), 1)

    def stepped(self):
        self.steps_timed += 1

    def evaluated(self, seconds):
        """Time outside the steps, once per epoch: left out of the step rate, added per epoch."""
        self.eval_seconds.append(seconds)

    def epoch_done(self, epoch, iteration, wall):
        self.epoch, self.iteration, self.wall = epoch, iteration, wall

    def eta_seconds(self, iteration=None):
        iteration = self.iteration if iteration is None else iteration
        if not self.steps_timed:
            return None
        step_s = (time.perf_counter() - self.t0 - sum(self.eval_seconds)) / self.steps_timed
        steps_left = max(self.epochs * self.per_epoch - iteration, 0)
        if self.max_steps is not None:
            steps_left = min(steps_left, max(self.max_steps - iteration, 0))
        epochs_left = -(-steps_left // self.per_epoch)
        eval_s = sum(self.eval_seconds) / len(self.eval_seconds) if self.eval_seconds else 0.0
        eta = steps_left * step_s + epochs_left * eval_s
        if self.max_seconds is not None:
            eta = min(eta, max(self.max_seconds - self.wall, 0.0))
        return eta

    def eta_text(self, iteration=None):
        eta = self.eta_seconds(iteration)
        if eta is None:
            return "?"
        eta = int(round(eta))
        return f"{eta // 3600}:{eta // 60 % 60:02d}:{eta % 60:02d}"


def _log(pending, history, epoch, bar, ckpt_path, clock, saved):
    if not pending:
        return
    values = [float(v) for _, v in pending]        # one host sync per log interval
    for (it, _), v in zip(pending, values):
        if not _finite(v):
            raise TrainingDiverged(
                f"loss became {v} in epoch {epoch + 1} at iteration {it}; stopped. "
                f"{_kept(ckpt_path, saved)}; lower the learning rate or add gradient clipping, "
                f"then resume")
    history["iteration"].append(pending[-1][0])
    history["loss"].append(float(np.mean(values)))
    if bar is not None:
        bar.set_postfix(loss=f"{history['loss'][-1]:.3e}",
                        run_eta=clock.eta_text(pending[-1][0]), refresh=False)
    pending.clear()


def _check_parameters(model, epoch, iteration, ckpt_path):
    for name, p in model.named_parameters():
        if not _finite(p.backend.xp.abs(p.data).sum()):
            raise TrainingDiverged(f"parameter {name} became non-finite in epoch {epoch + 1} "
                                   f"(by iteration {iteration}); the last good checkpoint "
                                   f"{ckpt_path} is kept")
