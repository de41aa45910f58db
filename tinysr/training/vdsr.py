"""The VDSR recipes: one network for x2, x3 and x4, trained on mixed-scale patches.

Data (both): the 291 images (T91 + BSD200), Y, MATLAB bicubic; 41x41 ILR/HR patches (``patch``) on a
stride-41 grid under the 8 flips/rotations, x2, x3 and x4 pooled so every batch mixes
scales (tinysr.data.patches.PairPatches).

paper  VDSR-20 (64 channels); SGD, momentum 0.9, weight decay 1e-4, batch 64; lr 0.1
       divided by 10 every 20 epochs, 80 epochs; the loss 1/2 ||r - f(x)||^2 summed over
       pixels and averaged over the batch; adjustable gradient clipping: each gradient
       element clipped to [-theta/lr, theta/lr], theta = 0.01, so a step is bounded by theta
       whatever the rate (``--clip value`` clips to a fixed [-theta, theta], ``none`` not at
       all: the clipping study).
fast   for the CPU: a smaller VDSR (``depth``/``width``), Adam on the mean absolute error,
       batches of 16 (both won examples/vdsr_sweep.py), lr along half a cosine down to 0 (``schedule``
       "cosine": +0.02 dB over "step", halved every ``epochs // 4``), a weight average, and "epochs"
       of 500 batches (a seeded pass) so that Set5 is scored often.

Each epoch scores Set5 at x2, x3 and x4 beside bicubic; "psnr" is the x3 score.
"""
import math
import os
import time


from tinysr import functional as F
from tinysr import optim
from tinysr.data import load_dataset
from tinysr.data.patches import PairPatches
from tinysr.device import describe, select
from tinysr.errors import ArgumentError
from tinysr.models import VDSR
from tinysr.tensor import tensor
from tinysr.training.loop import check_run_folder, fit
from tinysr.training.sr_task import (SRTest, check_training_data, draw_curves, export_model, patch_batches,
                                     recipe_settings)

RECIPES = {
    "paper": dict(depth=20, width=64, epochs=80, batch=64, lr=0.1, ema=0.0, clip="adjustable", patch=41, loss="mse", schedule="step"),
    "fast": dict(depth=10, width=48, epochs=72, batch=16, lr=1e-3, ema=0.999, clip="none", patch=41, loss="l1", schedule="cosine"),
}
LOSSES, CLIPS, SCHEDULES = ("mse", "l1"), ("adjustable", "value", "none"), ("step", "cosine")
FAST_EPOCH_BATCHES, SCALES = 500, (2, 3, 4)


def vdsr_step(model, optimizer, recipe, device, clip, theta, loss_name="mse"):
    """step((x, y)) -> {"loss": the objective, "mse": per-pixel MSE (comparable across
    recipes and with SRCNN's curve)}. ``loss_name`` "l1": the mean absolute error is minimised
    instead (the MSE is still reported)."""
    def step(batch):
        x, y = (tensor(a, device=device) for a in batch)
        optimizer.zero_grad()
        out = model(x)
        mse = F.mse_loss(out, y)
        loss = F.l1_loss(out, y) if loss_name == "l1" else mse
        if recipe == "paper":
            loss = loss * (0.5 * math.prod(y.shape[1:]))        # the paper's: half the sum over pixels
        loss.backward()
        optimizer.reduce_gradients()     # data-parallel: clip the averaged gradient, as one process would
        if clip == "adjustable":
            optim.clip_grad_adjustable_(optimizer, theta)
        elif clip == "value":
            optim.clip_grad_value_(model.parameters(), theta)
        optimizer.step()
        return {"loss": loss.data, "mse": mse.data}
    return step


def _srcnn_run(source, device):
    """({label: (iterations, MSE)}, [("SRCNN", model)]) from an SRCNN run folder, or
    (None, [("SRCNN", model)]) from an SRCNN model file (an imported authors' model: crops
    only, it has no training curve), or nothing."""
    if source is None:
        return None, ()
    from tinysr.models.registry import load_model
    from tinysr.training.sr_task import training_curve
    if not os.path.isdir(source):
        model, meta = load_model(source)
        if meta.get("model") != "srcnn":
            raise ArgumentError(f"--srcnn: {source} holds a {meta.get('model')!r} model, not SRCNN")
        return None, [("SRCNN", model.to(device))]
    path = os.path.join(source, "checkpoint.npz")
    model, meta = load_model(path)
    if meta.get("model") != "srcnn" or meta.get("recipe") != "fast":
        raise ArgumentError(f"--srcnn: {source} is not a fast-recipe SRCNN run (its loss is not the per-pixel MSE)")
    return {f"SRCNN {meta['config']['f1']}-{meta['config']['f2']}-{meta['config']['f3']} (x{meta['scale']})":
            training_curve(path, "loss")}, [("SRCNN", model.to(device))]


def train(recipe="fast", depth=None, width=None, epochs=None, batch=None, lr=None, ema_decay=None,
          clip=None, patch=None, loss=None, schedule=None, theta=0.01, device="auto", data=None, train_set="291", out="runs/vdsr", resume=False,
          overwrite=False, seed=0, max_images=None, max_steps=None, max_minutes=None, stop_mid_epoch=False, progress=True,
          test_set="Set5", srcnn=None, scales=SCALES):
    """Train VDSR and write checkpoints, figures and the model into ``out``; returns a dict.
    ``srcnn``: an SRCNN run folder (examples/train_srcnn.py --out) whose training MSE is drawn
    on the same axes and whose model joins the crop figure, or an SRCNN model file (e.g. the
    authors' model through `tinysr import-weights srcnn`) for the crop figure alone. ``scales``: the zooms trained
    and scored (the paper: 2, 3, 4 in one model)."""
    scales = tuple(sorted(scales))
    r = recipe_settings(RECIPES, recipe, dict(depth=depth, width=width, epochs=epochs, batch=batch, lr=lr, ema=ema_decay,
                                              clip=clip, patch=patch, loss=loss, schedule=schedule),
                        {"clip": CLIPS, "loss": LOSSES, "schedule": SCHEDULES})
    check_run_folder(out, resume, overwrite)
    device = select(device)
    compare, others = _srcnn_run(srcnn, device)

    model = VDSR(depth=r["depth"], width=r["width"], seed=seed)
    images, test_images = load_dataset(train_set, root=data), load_dataset(test_set, root=data)
    check_training_data(images, test_images)
    if max_images is not None:
        images.files = images.files[:max_images]
    patches = PairPatches(images, scales, size=r["patch"], stride=r["patch"])
    tests = {s: SRTest(test_images, s) for s in scales}
    per_epoch = FAST_EPOCH_BATCHES if recipe == "fast" else None
    steps = per_epoch or len(patches) // r["batch"]
    print(f"VDSR depth {r['depth']} width {r['width']}, recipe {recipe}: {len(patches)} patches "
          f"(x{'/x'.join(map(str, scales))}{' mixed' if len(scales) > 1 else ''}) from {images.name}, {r['epochs']} epochs of {steps} batches of {r['batch']}, "
          f"device {describe(device)}; {test_images.name} bicubic "
          + " / ".join(f"x{s} {t.bicubic:.2f}" for s, t in tests.items()) + " dB")

    model.to(device)
    if recipe == "paper":
        optimizer = optim.SGD(model.parameters(), lr=r["lr"], momentum=0.9, weight_decay=1e-4)
        steps_lr = optim.StepLR(optimizer, step_size=20, gamma=0.1)
    else:
        optimizer = optim.Adam(model.parameters(), lr=r["lr"])
        steps_lr = optim.StepLR(optimizer, step_size=max(1, r["epochs"] // 4), gamma=0.5)
    schedules = {"lr": optim.CosineLR(optimizer, r["epochs"]) if r["schedule"] == "cosine" else steps_lr}
    averages = {"model": optim.EMA(model, r["ema"])} if r["ema"] else {}
    meta = {"model": "vdsr", "config": model.config, "scale": list(scales), "recipe": recipe, "seed": seed,
            "settings": r}

    def evaluate():
        scores = {f"x{s}": t.psnr(model, device) for s, t in tests.items()}
        return {"psnr": scores.get("x3", scores[f"x{scales[0]}"]), **scores, **{f"bicubic_x{s}": t.bicubic for s, t in tests.items()}}

    def draw(history):
        draw_curves(history, out, f"VDSR-{r['depth']} ({recipe}) on {test_images.name}", "training MSE (per pixel)",
                    loss_key="mse", psnr_keys=tuple(f"x{s}" for s in scales), label=f"VDSR-{r['depth']} ({recipe})",
                    compare=compare)

    t0 = time.perf_counter()
    history = fit(vdsr_step(model, optimizer, recipe, device, r["clip"], theta, r["loss"]),
                  patch_batches(patches, r["batch"], seed, per_epoch),
                  modules={"model": model}, optimizers={"model": optimizer}, schedules=schedules,
                  averages=averages, epochs=r["epochs"], out_dir=out, meta=meta, resume=resume,
                  evaluate=evaluate, on_stop=draw, progress=progress, max_steps=max_steps,
                  max_seconds=None if max_minutes is None else 60.0 * max_minutes,
                  stop_mid_epoch=stop_mid_epoch)
    seconds = time.perf_counter() - t0
    if averages:
        averages["model"].apply()
    model_path = export_model(model, os.path.join(out, f"vdsr_d{r['depth']}w{r['width']}.npz"), list(scales),
                              recipe=recipe, seed=seed)
    tests.get(3, tests[scales[0]]).crop_figure(model, device, os.path.join(out, "crop.png"), "VDSR", others=others)
    last = history["eval"][-1] if history["eval"] else {}
    print(f"done in {seconds / 60:.1f} min: {test_images.name} VDSR "
          + " / ".join(f"x{s} {last.get(f'x{s}', float('nan')):.2f}" for s in scales)
          + " dB vs bicubic " + " / ".join(f"{t.bicubic:.2f}" for t in tests.values()) + f"; model {model_path}")
    return {"model_path": model_path, "seconds": seconds, "eval": last,
            "bicubic": {s: t.bicubic for s, t in tests.items()},
            "iterations": history["iteration"][-1] if history["iteration"] else 0}
