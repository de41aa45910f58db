"""The DRCN recipes: one model per scale, trained with recursive supervision.

Data (both): T91, Y, MATLAB bicubic, 41x41 ILR/HR patches on a stride-21 grid (``augment``: each
also in its 8 flips/rotations, as VDSR's data; off in both recipes, as the paper).
Loss: L = alpha * l1 + (1 - alpha) * l2 + beta * ||theta||^2, where l1 is the mean over the
D intermediate predictions of (1/2N) sum ||y - y_d||^2, l2 the same for the ensemble, and
alpha falls linearly from 1 to 0 over the first ``alpha_epochs`` epochs (per batch);
beta = 1e-4, applied as the optimiser's weight decay 2 * beta (the gradient of beta ||theta||^2).

paper  DRCN(256, 16); SGD, momentum 0.9, lr 0.01, batch 64, divided by 10 when the
       validation PSNR has not improved for 5 epochs, stopped once the lr falls below 1e-6;
       alpha over 25 epochs. The validation images are the last 5 of T91, held out.
fast   for the CPU: a reduced DRCN (``width``, ``recursions``), Adam, a weight average,
       "epochs" of 500 batches, alpha over the first quarter of the epochs, the rate halved every
       quarter (``schedule`` "step"; "cosine": half a cosine down to 0; "plateau": the paper's).
"""
import math
import os
import time

import numpy as np

from tinysr import functional as F
from tinysr import optim
from tinysr.data import Dataset, load_dataset
from tinysr.data.patches import PairPatches
from tinysr.device import describe, select
from tinysr.models import DRCN
from tinysr.tensor import no_grad, tensor
from tinysr.training import figures
from tinysr.training.loop import check_run_folder, fit
from tinysr.training.sr_task import (SRTest, check_training_data, draw_curves, export_model, patch_batches,
                                     recipe_settings)

RECIPES = {
    "paper": dict(width=256, recursions=16, epochs=200, batch=64, lr=0.01, ema=0.0, alpha_epochs=25, augment=False, loss="mse", schedule="plateau"),
    "fast": dict(width=48, recursions=6, epochs=20, batch=32, lr=1e-3, ema=0.999, alpha_epochs=5, augment=False, loss="mse", schedule="step"),
}
LOSSES, SCHEDULES = ("mse", "l1"), ("plateau", "step", "cosine")
BETA, FAST_EPOCH_BATCHES, VALIDATION_IMAGES = 1e-4, 500, 5


def drcn_step(model, optimizer, device, loss_name="mse"):
    """step((x, y, alpha)) -> {"loss", "l1", "l2", "alpha"}: recursive supervision. ``loss_name``
    "l1": each term is the mean absolute error (times the same half_sum) instead of the MSE."""
    error = F.l1_loss if loss_name == "l1" else F.mse_loss
    def step(batch):
        x, y, alpha = batch
        xt, yt = tensor(x, device=device), tensor(y, device=device)
        optimizer.zero_grad()
        out, each = model.outputs(xt)
        half_sum = 0.5 * math.prod(y.shape[1:])       # (1/2N) sum over pixels = half_sum * MSE
        l1 = sum(error(p, yt) for p in each) * (half_sum / len(each))
        l2 = error(out, yt) * half_sum
        loss = l1 * alpha + l2 * (1.0 - alpha)
        loss.backward()
        optimizer.step()
        return {"loss": loss.data, "l1": l1.data, "l2": l2.data, "alpha": np.float32(alpha)}
    return step


def with_alpha(batches, alpha_epochs):
    """Each batch also carries alpha = 1 - (epochs so far, fractional) / alpha_epochs, >= 0;
    alpha_epochs = 0 is alpha = 0 from the start (recursive supervision off: the ablation)."""
    def alpha_batches(epoch):
        inner, samples = batches(epoch)
        n = max(samples, 1)

        def gen():
            seen = 0
            for x, y in inner:
                yield x, y, max(0.0, 1.0 - (epoch + seen / n) / alpha_epochs) if alpha_epochs > 0 else 0.0
                seen += len(x)
        return gen(), samples
    return alpha_batches


def recursion_psnr(model, test, device):
    """Set PSNR of each intermediate prediction y_d (the paper's figure on depth)."""
    model.eval()
    totals = np.zeros(model.config["recursions"])
    for _, ilr, hr in test.pairs:
        with no_grad():
            x = tensor(np.clip(ilr, 16 / 255, 235 / 255)[None, None].astype(np.float32), device=device)
            each = model.outputs(x)[1]
        for d, y in enumerate(each):
            totals[d] += test.score(y.numpy()[0, 0].astype(np.float64), hr)
    return totals / len(test.pairs)


def train(scale=3, recipe="fast", width=None, recursions=None, epochs=None, batch=None, lr=None,
          ema_decay=None, alpha_epochs=None, augment=None, loss=None, schedule=None, device="auto", data=None, out="runs/drcn", resume=False,
          overwrite=False, seed=0, max_images=None, max_steps=None, max_minutes=None, stop_mid_epoch=False, progress=True,
          test_set="Set5"):
    """Train DRCN for one scale; checkpoints, figures and the model go into ``out``."""
    r = recipe_settings(RECIPES, recipe, dict(width=width, recursions=recursions, epochs=epochs, batch=batch, lr=lr,
                                              ema=ema_decay, alpha_epochs=alpha_epochs, augment=augment, loss=loss,
                                              schedule=schedule), {"loss": LOSSES, "schedule": SCHEDULES})
    check_run_folder(out, resume, overwrite)
    device = select(device)

    model = DRCN(width=r["width"], recursions=r["recursions"], seed=seed)
    images, test_images = load_dataset("T91", root=data), load_dataset(test_set, root=data)
    check_training_data(images, test_images)
    held_out = Dataset("T91-validation", images.files[-VALIDATION_IMAGES:], images.root)
    train_images = Dataset("T91-train", images.files[:-VALIDATION_IMAGES][:max_images], images.root)
    if images.is_sample:                       # the sample photos: no room to hold any out
        held_out, train_images = images, images
    patches = PairPatches(train_images, (scale,), size=41, stride=21, augment=r["augment"])   # the 8 flips/rotations
    test, validation = SRTest(test_images, scale), SRTest(held_out, scale)
    per_epoch = FAST_EPOCH_BATCHES if recipe == "fast" else None
    print(f"DRCN width {r['width']}, {r['recursions']} recursions, x{scale}, recipe {recipe}: "
          f"{len(patches)} patches from {len(train_images)} T91 images, {r['epochs']} epochs of "
          f"{per_epoch or len(patches) // r['batch']} batches of {r['batch']}, device {describe(device)}; "
          f"{test_images.name} bicubic {test.bicubic:.2f} dB")

    model.to(device)
    optimizer = (optim.SGD(model.parameters(), lr=r["lr"], momentum=0.9, weight_decay=2 * BETA) if recipe == "paper"
                 else optim.Adam(model.parameters(), lr=r["lr"], weight_decay=2 * BETA))
    schedules = {"lr": optim.ReduceLROnPlateau(optimizer, factor=0.1, patience=5) if r["schedule"] == "plateau" else
                 optim.CosineLR(optimizer, r["epochs"]) if r["schedule"] == "cosine" else
                 optim.StepLR(optimizer, step_size=max(1, r["epochs"] // 4), gamma=0.5)}
    averages = {"model": optim.EMA(model, r["ema"])} if r["ema"] else {}
    meta = {"model": "drcn", "config": model.config, "scale": scale, "recipe": recipe, "seed": seed,
            "settings": r}

    def evaluate():
        return {"psnr": test.psnr(model, device), "bicubic": test.bicubic,
                "validation": validation.psnr(model, device)}

    def draw(history):
        draw_curves(history, out, f"DRCN-{r['recursions']} x{scale} ({recipe}) on {test_images.name}",
                    "training loss (1/2 sum of squares)" if r["loss"] == "mse" else "training loss (N/2 x mean |error|)")
        figures.loss_curve(history, os.path.join(out, "l1_l2.png"), "l1 (intermediate) and l2 (ensemble)",
                           "l1", "l1", {"l2": (history["iteration"], history["l2"]),
                                        "alpha": (history["iteration"], history["alpha"])})

    t0 = time.perf_counter()
    history = fit(drcn_step(model, optimizer, device, r["loss"]),
                  with_alpha(patch_batches(patches, r["batch"], seed, per_epoch), r["alpha_epochs"]),
                  modules={"model": model}, optimizers={"model": optimizer}, schedules=schedules,
                  averages=averages, epochs=r["epochs"], out_dir=out, meta=meta, resume=resume,
                  evaluate=evaluate, on_stop=draw, progress=progress, max_steps=max_steps,
                  max_seconds=None if max_minutes is None else 60.0 * max_minutes,
                  stop_mid_epoch=stop_mid_epoch, plateau_metric="validation",
                  stop_when=lambda: "the learning rate fell below 1e-6"     # the paper's end of its plateaus
                  if r["schedule"] == "plateau" and optimizer.param_groups[0]["lr"] < 1e-6 else None)
    seconds = time.perf_counter() - t0
    if averages:
        averages["model"].apply()
    model_path = export_model(model, os.path.join(out, f"drcn_w{r['width']}d{r['recursions']}_x{scale}.npz"),
                              scale, recipe=recipe, seed=seed)
    test.crop_figure(model, device, os.path.join(out, "crop.png"), "DRCN")
    depth_psnr = recursion_psnr(model, test, device)
    figures.recursion_figure(model.ensemble_weights().numpy(), depth_psnr, test.bicubic,
                             test.psnr(model, device), os.path.join(out, "recursions.png"))
    last = history["eval"][-1] if history["eval"] else {}
    print(f"done in {seconds / 60:.1f} min: {test_images.name} x{scale} DRCN {last.get('psnr', float('nan')):.2f} dB "
          f"vs bicubic {test.bicubic:.2f} dB; per recursion " + " ".join(f"{p:.2f}" for p in depth_psnr)
          + f"; model {model_path}")
    return {"model_path": model_path, "seconds": seconds, "psnr": last.get("psnr"), "bicubic": test.bicubic,
            "recursion_psnr": depth_psnr.tolist(), "iterations": history["iteration"][-1] if history["iteration"] else 0}
