"""The training loop every recipe shares, whatever it trains.

A recipe hands ``fit`` a **step function**, ``step(batch) -> {name: scalar}``, that does one
update (zero the gradients, forward, backward, clip, step its optimisers) and returns its
named losses and metrics (a GAN returns three, DRCN two, SRCNN one), plus the named
``modules``, ``optimizers``, ``schedules`` and weight ``averages`` it uses. The loop owns
what a user relies on but a recipe should not re-write:

- a progress bar with every named value, the rate and the epoch's and the run's ETA, the
  first step (which compiles the kernels) timed apart;
- an evaluation after each epoch (on the averaged weights when there are averages);
- an atomic checkpoint of everything named after each epoch, from which ``resume``
  continues exactly (batch order is a function of (seed, epoch), so nothing random has
  to be restored);
- a stop with a clear message, and the last good checkpoint kept, when a value or a
  weight stops being finite, on Ctrl-C, or when a step or time budget is spent.
"""
import contextlib
import json
import math
import os
import time

import numpy as np

from tinysr import checkpoint, distributed
from tinysr.atomic import atomic_write
from tinysr.checkpoint import CheckpointError
from tinysr.errors import MissingFileError, OutputError, RunStopped, TrainingInterrupted
from tinysr.tensor import Tensor

try:
    from tqdm.auto import tqdm
except ImportError:   # tqdm is a dependency; this keeps the loop usable in a bare env
    tqdm = None

CHECKPOINT = "checkpoint.npz"
HISTORY = "history.json"          # the logged values up to the stop, written however the run ends
RESERVED = ("iteration", "eval_iteration", "eval", "epoch_seconds", "wall_seconds")


class TrainingDiverged(RunStopped):
    """A named value or a parameter became NaN/Inf; the message names the epoch and step."""


def check_run_folder(out_dir, resume, overwrite=False):
    """Before any data is loaded: ``--resume`` needs a checkpoint in ``out_dir``, and a new
    run must not silently replace one (``overwrite`` says it may). Creates nothing."""
    distributed.world()   # under mpiexec the ranks meet here: rank 0 alone prints from now on
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


def fit(step, batches, *, modules, optimizers, epochs, out_dir, meta, schedules=None, averages=None,
        evaluate=None, resume=False, log_every=20, on_epoch_end=None, on_stop=None, progress=True,
        max_steps=None, max_seconds=None, plateau_metric="psnr", stop_when=None, on_step=None,
        stop_mid_epoch=False):
    """Train and return the history: {"iteration": [...], name: [...] for each named value,
    "eval_iteration", "eval" (one dict per epoch), "epoch_seconds", "wall_seconds"}.

    step(batch) -> {name: scalar}: one update; values may stay on the device (Tensors or
        arrays), they are read once per ``log_every`` steps.
    batches(epoch) -> (iterable of batches, number of samples in the epoch); a batch is
        anything ``step`` takes: a tuple (x, y, ...) of arrays counts len(x) samples,
        anything else len(batch).
    modules, optimizers: {name: Module}, {name: Optimizer}; schedules {name: schedule}
        step once per epoch (``schedule.step()``, or ``step(-metrics[plateau_metric])`` for
        on-plateau ones: higher is better).
    averages: {name: optim.EMA}, updated after every step; evaluation runs on the averaged
        weights and the checkpoint carries them.
    evaluate() -> {name: number}, after each epoch (e.g. {"psnr": .., "bicubic": ..}).
    meta: JSON-able metadata stored in every checkpoint (model names, configs, scale).
    max_seconds: stop at the end of the first epoch by which the run's wall time (summed
        over resumed segments) reaches it (a resume is exact); stop_mid_epoch: at the first step
        (that epoch then counts as done). max_steps: stop after that many iterations.
    stop_when() -> a reason (str) to stop after this epoch, or None (DRCN: lr below 1e-6).
    on_step(iteration, values) runs after every step (the GAN's sample sheets and log lines).
    on_stop(history) runs however the run ends (done, a budget, Ctrl-C, divergence).
    Ctrl-C raises TrainingInterrupted and a non-finite value TrainingDiverged; both say
    where the run stopped and which checkpoint holds the last good state.
    Under ``mpiexec -n N``, data-parallel (tinysr.distributed): each rank steps on 1/N of every
    batch, gradients averaged; rank 0 alone evaluates, writes, shows the bar, runs the on_*.
    """
    schedules, averages = schedules or {}, averages or {}
    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    history = {key: [] for key in RESERVED}
    start_epoch, iteration = 0, 0
    if resume:
        history, start_epoch, iteration = _restore(ckpt_path, modules, optimizers, schedules, averages)
        print(f"resumed from {ckpt_path}: epoch {start_epoch}, iteration {iteration}")
    wall_before = history["wall_seconds"][-1] if history["wall_seconds"] else 0.0
    fit_start = time.perf_counter()
    clock = _RunClock(epochs, max_steps, iteration, max_seconds, wall_before)
    saved = {"epoch": start_epoch, "iteration": iteration}
    epoch, bar, world = start_epoch, None, distributed.world().join(modules, optimizers)
    try:
        for epoch in range(start_epoch, epochs):
            epoch_batches, n_samples = batches(epoch)
            bar, t0, pending = None, time.perf_counter(), []
            for module in modules.values():
                module.train()
            for batch in epoch_batches:
                first = clock.steps_timed is None
                if first and progress:
                    print("preparing the kernels for the first step (compiled once, then cached; "
                          "up to a minute on a first run) ...", end="", flush=True)
                t_step = time.perf_counter()
                values = step(world.shard(batch))
                for average in averages.values():
                    average.update()
                iteration += 1
                pending.append((iteration, values))      # values stay on the device until logged
                if first:
                    clock.started(batch_size(batch), n_samples)
                    if progress:
                        print(f" {time.perf_counter() - t_step:.1f} s", flush=True)
                else:
                    clock.stepped()
                if bar is None and tqdm is not None:   # made after the first step: its rate and
                    bar = tqdm(total=n_samples, unit="patch", desc=f"epoch {epoch + 1}/{epochs}",
                               disable=not (progress and world.lead), dynamic_ncols=True, mininterval=1.0)
                if bar is not None:                    # ETA leave the compilation out
                    bar.update(batch_size(batch))
                if len(pending) >= log_every:
                    _log(pending, history, epoch, bar, ckpt_path, clock, saved)
                if on_step is not None and world.lead:
                    on_step(iteration, values)
                if max_steps is not None and iteration >= max_steps:
                    break
                if stop_mid_epoch and max_seconds is not None and wall_before + time.perf_counter() - fit_start >= max_seconds:
                    break
            _log(pending, history, epoch, bar, ckpt_path, clock, saved)
            if bar is not None:
                bar.close()
            history["epoch_seconds"].append(time.perf_counter() - t0)
            for module in modules.values():
                _check_parameters(module, epoch, iteration, ckpt_path, saved)

            t_eval = time.perf_counter()
            metrics = {}
            if evaluate is not None and world.lead:
                with contextlib.ExitStack() as stack, world.alone():
                    for average in averages.values():
                        stack.enter_context(average.averaged())
                    metrics = evaluate()
            metrics, wall = world.end_epoch(modules, metrics, wall_before + time.perf_counter() - fit_start)
            for schedule in schedules.values():
                if hasattr(schedule, "patience"):
                    schedule.step(-metrics[plateau_metric])
                else:
                    schedule.step()
            history["wall_seconds"].append(wall)
            if metrics:
                history["eval_iteration"].append(iteration)
                history["eval"].append(metrics)
            if world.lead:
                _save(ckpt_path, modules, optimizers, schedules, averages, meta, epoch + 1, iteration, history)
            saved.update(epoch=epoch + 1, iteration=iteration)
            clock.evaluated(time.perf_counter() - t_eval)       # evaluation + checkpoint
            clock.epoch_done(iteration, history["wall_seconds"][-1])
            print(f"epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                  + ("; " if metrics else "") + f"run ETA {clock.eta_text()}")
            if on_epoch_end is not None and world.lead:
                on_epoch_end(epoch, history)
            if max_steps is not None and iteration >= max_steps:
                print(f"step budget of {max_steps} iterations reached in epoch {epoch + 1}")
                break
            if max_seconds is not None and history["wall_seconds"][-1] >= max_seconds:
                print(f"time budget of {max_seconds / 60:.1f} min reached {'in' if stop_mid_epoch else 'after'} epoch {epoch + 1}")
                break
            reason = stop_when() if stop_when is not None else None
            if reason:
                print(f"stopped after epoch {epoch + 1}: {reason}")
                break
    except KeyboardInterrupt:
        if bar is not None:      # closed now, or tqdm's __del__ draws it again after the message
            bar.close()
        raise TrainingInterrupted(
            f"interrupted in epoch {epoch + 1} at iteration {iteration}; {_kept(ckpt_path, saved)}") from None
    finally:
        if history["iteration"] and world.lead:   # what was trained, however the run ended (divergence too)
            with atomic_write(os.path.join(out_dir, HISTORY), "w") as f:
                json.dump(history, f)
            if on_stop is not None:
                on_stop(history)
        world.leave(optimizers)
    return history


def batch_size(batch):
    """Samples in a batch, for the progress bar and the ETA."""
    return len(batch[0]) if isinstance(batch, (tuple, list)) else len(batch)


def _save(path, modules, optimizers, schedules, averages, meta, epoch, iteration, history):
    state = {"modules": {n: m.state_dict() for n, m in modules.items()},
             "optimizers": {n: o.state_dict() for n, o in optimizers.items()},
             "schedules": {n: s.state_dict() for n, s in schedules.items()},
             "averages": {n: a.state_dict() for n, a in averages.items()},
             "meta": meta, "train": {"epoch": epoch, "iteration": iteration, "history": json.dumps(history)}}
    checkpoint.save(state, path)


def _restore(path, modules, optimizers, schedules, averages):
    """Load every named part from the checkpoint; refuse one that lacks or adds a part."""
    state = checkpoint.load(path)
    parts = (("modules", modules), ("optimizers", optimizers), ("schedules", schedules),
             ("averages", averages))
    for kind, named in parts:
        stored = state.get(kind)
        if not isinstance(stored, dict) or set(stored) != set(named):
            found = sorted(stored) if isinstance(stored, dict) else "none"
            raise CheckpointError(f"{path}: holds {kind} {found}, this run has {sorted(named)}; "
                                  "resume with the settings that wrote it, or start over")
        for name, obj in named.items():
            try:
                obj.load_state_dict(stored[name])
            except (KeyError, ValueError, TypeError) as err:
                raise CheckpointError(f"{path}: {kind} {name!r} does not fit this run: {err}") from None
    train = state["train"]
    history = json.loads(train["history"])
    return history, int(train["epoch"]), int(train["iteration"])


def _kept(ckpt_path, saved):
    if saved["epoch"] == 0:
        return "no epoch had finished, so there is no checkpoint yet"
    return f"{ckpt_path} holds the end of epoch {saved['epoch']} (iteration {saved['iteration']})"


def _log(pending, history, epoch, bar, ckpt_path, clock, saved):
    """Read the pending values (one host sync per interval), stop on a non-finite one, and
    append each name's mean over the interval to the history."""
    if not pending:
        return
    names = list(pending[0][1])
    table = distributed.world().average([[float(_scalar(v[n])) for n in names] for _, v in pending])
    means = {}
    for name, values in zip(names, table.T):      # each value's mean over the ranks
        if name in RESERVED:
            raise ValueError(f"step returned {name!r}, a name the history keeps for itself")
        for (it, _), value in zip(pending, values):
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"{name} became {value} in epoch {epoch + 1} at iteration {it}; stopped. "
                    f"{_kept(ckpt_path, saved)}; lower the learning rate or add gradient clipping, "
                    "then resume")
        means[name] = float(np.mean(values))
    history["iteration"].append(pending[-1][0])
    for name, value in means.items():
        history.setdefault(name, []).append(value)
    if bar is not None:
        bar.set_postfix({**{n: f"{v:.3e}" for n, v in means.items()},
                         "run_eta": clock.eta_text(pending[-1][0])}, refresh=False)
    pending.clear()


def _scalar(value):
    if isinstance(value, Tensor):
        value = value.data
    return value.item() if hasattr(value, "item") else value


def _check_parameters(module, epoch, iteration, ckpt_path, saved):
    for name, p in module.named_parameters():
        if not math.isfinite(float(p.backend.xp.abs(p.data).sum())):
            raise TrainingDiverged(f"parameter {name} became non-finite in epoch {epoch + 1} "
                                   f"(by iteration {iteration}); {_kept(ckpt_path, saved)}")


class _RunClock:
    """The whole run's ETA (the bar's covers one epoch), from this process's rates only:
    the first step, which compiles the kernels, is left out."""

    def __init__(self, epochs, max_steps, iteration, max_seconds, wall):
        self.epochs, self.max_steps, self.iteration = epochs, max_steps, iteration
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

    def epoch_done(self, iteration, wall):
        self.iteration, self.wall = iteration, wall

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
