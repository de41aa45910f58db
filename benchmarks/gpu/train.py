"""Job train: SRCNN and VDSR trained briefly by the library's recipes
(tinysr.training.srcnn.train, tinysr.training.vdsr.train; fast recipe) on the GPU and on
the CPU reference backend (numpy_ref), from the same seed and the same batches. The loss
curves (the training loop's means over its 20-step log intervals, read from each run's
checkpoint) should agree: the first interval to float32 summation order, later ones
drifting apart slowly.

Each run scores, after its one epoch, a 128x128 crop of Set5's first image (of the sample
photos without Set5), OUT/train/test_crop/: the whole of Set5 three times over on the CPU
reference backend would take longer than the training it follows.

rec[model]: steps, batch, gpu_loss / cpu_loss, first_loss / last_loss (gpu, cpu),
rel_diff_first / rel_diff_max / rel_diff_last, decreased, pass, the seconds of each run and
its summary. Each run's folder (checkpoint, model, figures) is OUT/train/<model>_<device>.
"""
import json
import os
import time
import traceback

import numpy as np

from .context import OutOfTime, log

# model: the train() arguments that differ from its fast recipe; GPU runs and dry runs.
# VDSR trains on T91 (the sample photos without it), not 291, so BSD200 is not needed.
PLAN = {"srcnn": dict(max_steps=300, batch=8, max_images=24),
        "vdsr": dict(max_steps=100, batch=2, max_images=4, train_set="T91")}
DRY_PLAN = {"srcnn": dict(max_steps=40, batch=4, max_images=4),
            "vdsr": dict(max_steps=40, batch=2, max_images=2, train_set="T91", depth=6, width=16)}


def test_crop(ctx, size=128):
    """A test folder holding one crop of the first test image (see above); its path."""
    from tinysr.data import load_dataset, write_image
    folder = ctx.path("train", "test_crop")
    os.makedirs(folder, exist_ok=True)
    img = load_dataset("Set5").read(0)
    top, left = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
    write_image(os.path.join(folder, "crop.png"), img[top:top + size, left:left + size])
    return folder


def train_run(model, device, out, settings):
    """One run of the library's recipe; ((iterations, loss means), seconds, its summary)."""
    from tinysr import checkpoint
    from tinysr.training import srcnn, vdsr
    train = {"srcnn": srcnn.train, "vdsr": vdsr.train}[model]
    t0 = time.monotonic()
    summary = train(device=device, out=out, overwrite=True, progress=False, epochs=1, seed=0,
                    **settings)
    history = json.loads(checkpoint.load(os.path.join(out, "checkpoint.npz"))["train"]["history"])
    return history["loss"], time.monotonic() - t0, summary


def compare(r, gpu_loss, cpu_loss):
    """The two curves side by side, their relative differences and a verdict."""
    n = min(len(gpu_loss), len(cpu_loss))
    g, c = np.array(gpu_loss[:n]), np.array(cpu_loss[:n])
    rel = np.abs(g - c) / np.maximum(np.abs(c), 1e-30)
    r.update(intervals_compared=n, gpu_loss=g.tolist(), cpu_loss=c.tolist(),
             first_loss=(float(g[0]), float(c[0])), last_loss=(float(g[-1]), float(c[-1])),
             rel_diff_first=float(rel[0]), rel_diff_max=float(rel.max()), rel_diff_last=float(rel[-1]),
             decreased=bool(g[-1] < 0.5 * g[0] and c[-1] < 0.5 * c[0]))
    r["pass"] = bool(rel[0] < 1e-3 and rel[-1] < 0.05 and r["decreased"])


def run(ctx, rec, deadline):
    test_set = test_crop(ctx)
    for model, settings in (DRY_PLAN if ctx.dry_run else PLAN).items():
        settings = dict(settings, test_set=test_set)
        deadline.check()
        r = rec[model] = {"steps": settings["max_steps"], "batch": settings["batch"]}
        try:
            gpu_against_cpu(ctx, model, settings, r, deadline)
        except OutOfTime:
            raise
        except Exception:           # noqa: BLE001 - recorded; the next model still runs
            r["error"] = traceback.format_exc()[-2000:]
            log(r["error"])


def gpu_against_cpu(ctx, model, settings, r, deadline):
    """The recipe on ctx.device, then on the CPU reference backend; the curves compared."""
    from tinysr.backend import use_cpu_backend
    gpu_loss, r["gpu_seconds"], summary = train_run(
        model, ctx.device, ctx.path("train", f"{model}_{ctx.device}"), settings)
    r["gpu_summary"] = {k: v for k, v in summary.items() if k != "model_path"}
    deadline.check()
    with use_cpu_backend("numpy"):
        cpu_loss, r["cpu_seconds"], _ = train_run(model, "cpu", ctx.path("train", f"{model}_cpu_ref"),
                                                  settings)
    compare(r, gpu_loss, cpu_loss)
    log(f"   {model}: {settings['max_steps']} steps of {settings['batch']}, "
        f"{r['intervals_compared']} log intervals; loss gpu {r['first_loss'][0]:.5g} -> "
        f"{r['last_loss'][0]:.5g}, cpu {r['first_loss'][1]:.5g} -> {r['last_loss'][1]:.5g}; "
        f"rel diff first {r['rel_diff_first']:.2e}, max {r['rel_diff_max']:.2e}, last "
        f"{r['rel_diff_last']:.2e}; {'PASS' if r['pass'] else 'CHECK'}")
