"""The SRCNN recipes: T91 sub-images -> Set5, as the paper (``paper``) or quicker (``fast``).

paper  SGD, momentum 0.9; lr 1e-4 for layers 1-2, 1e-5 for layer 3, each bias at a tenth
       of its layer's rate; N(0, 0.001) init; Caffe's Euclidean loss (squared error summed
       over the output pixels of each sample, halved, averaged over the batch); batch 128.
fast   the same data and model; He initialisation; Adam (lr 1e-3, batch 32) on the
       per-pixel MSE, 300 epochs by default, lr halved every ``epochs // 5`` epochs, and
       the model evaluated and saved is an exponential moving average of the weights
       (decay 0.9999 per step, ~15 epochs: optim/ema.py says why). Chosen by a sweep on a
       GPU (docs/results.md): smaller batches and lr 1e-3 gained most per epoch; 300 epochs
       (~42 min on 2 CPU cores) rather than 200 because 200 stopped 0.01 dB short of the
       paper's 32.39.

Everything else (the loop, batches, evaluation, figures, export) is tinysr.training's.
"""
import math
import os
import time

import numpy as np

from tinysr import functional as F
from tinysr import optim
from tinysr.data import load_dataset, y_channel
from tinysr.data.patches import srcnn_pairs
from tinysr.device import describe, select
from tinysr.errors import ArgumentError
from tinysr.models import SRCNN
from tinysr.training.loop import check_run_folder, fit
from tinysr.training.sr_task import (SRTest, array_batches, check_training_data, draw_curves,
                                     export_model, supervised_step)

RECIPES = ("fast", "paper")


def input_side(shrink):
    """The sub-image side S: 33 as the paper, or larger when a deep variant would leave under
    17 label pixels; the label's side is S - 2 * shrink."""
    return max(33, 2 * shrink + 17)


def make_patches(dataset, scale, shrink, max_images=None):
    """All SRCNN sub-images of ``dataset``: float32 (N,1,S,S) inputs and (N,1,S-2*shrink,...)
    labels; S = 33 as the paper, or larger when a deep variant would leave under 17 pixels."""
    count = len(dataset) if max_images is None else min(max_images, len(dataset))
    ys = [y_channel(dataset.read(i)) for i in range(count)]
    size = input_side(shrink)
    pairs = list(srcnn_pairs(ys, scale, size=size, label_size=size - 2 * shrink, stride=14))
    x = np.stack([p[0] for p in pairs])[:, None].astype(np.float32)
    y = np.stack([p[1] for p in pairs])[:, None].astype(np.float32)
    return x, y


def build_optimizer(model, recipe, lr):
    if recipe == "paper":
        return optim.SGD(model.param_groups(lr if lr is not None else 1e-4), lr=1e-4, momentum=0.9)
    return optim.Adam(model.parameters(), lr=lr if lr is not None else 1e-3)


def loss_for(recipe):
    if recipe == "paper":
        def caffe_euclidean(model, x, y):    # sum over pixels / (2 * batch)
            return F.mse_loss(model(x), y, reduction="sum") * (0.5 / x.shape[0])
        return caffe_euclidean
    return lambda model, x, y: F.mse_loss(model(x), y)


def parse_variant(variant):
    try:
        f1, f2, f3 = (int(v) for v in variant.split("-"))
    except ValueError:
        raise ArgumentError(f"--variant: three filter sizes f1-f2-f3 like 9-1-5, got {variant!r}") from None
    if min(f1, f2, f3) < 1 or max(f1, f2, f3) > 33 or not all(f % 2 for f in (f1, f2, f3)):
        raise ArgumentError(f"--variant: odd filter sizes from 1 to 33, got {variant!r}")
    return f1, f2, f3


def start_from(model, path, added_init):
    """Copy a trained SRCNN's three layers (a model file, or the authors' .mat) into ``model``;
    its ``extra_layers`` start as ``added_init``: "identity" (the network's output is
    unchanged: each added layer passes its non-negative input through), "he" or "paper"."""
    from tinysr.models.registry import load_model
    from tinysr.models.srcnn_matlab import srcnn_from_mat
    from tinysr.nn import init
    start = srcnn_from_mat(path) if str(path).endswith(".mat") else load_model(path)[0]
    for mine, theirs in ((model.conv1, start.conv1), (model.conv2, start.conv2), (model.conv3, start.conv3)):
        if mine.weight.shape != theirs.weight.shape:
            raise ArgumentError(f"--init-from: {path} has a {theirs.weight.shape} layer where this SRCNN has "
                                f"{mine.weight.shape}; match --variant and the widths")
        mine.weight.data, mine.bias.data = theirs.weight.data.copy(), theirs.bias.data.copy()
    for conv in model.mapping:
        {"identity": init.identity_, "he": init.kaiming_normal_,
         "paper": lambda w: init.normal_(w, std=1e-3)}[added_init](conv.weight)


def train(scale=3, variant="9-1-5", recipe="fast", epochs=None, batch=None, device="auto", data=None,
          out="runs/srcnn", resume=False, seed=0, lr=None, max_images=None, max_steps=None,
          test_set="Set5", progress=True, ema_decay=None, max_minutes=None, stop_mid_epoch=False, overwrite=False,
          n1=64, n2=32, extra_layers=0, init_from=None, added_init="identity"):
    """Train SRCNN and write checkpoints, figures and the model into ``out``; returns a dict.
    ``resume`` continues the run in ``out``; a new run refuses to replace one unless
    ``overwrite``. ``extra_layers`` adds n2 -> n2 layers; ``init_from`` starts from a trained
    model (see ``start_from``)."""
    if recipe not in RECIPES:
        raise ArgumentError(f"--recipe: one of {', '.join(RECIPES)}, got {recipe!r}")
    f1, f2, f3 = parse_variant(variant)
    epochs = epochs if epochs is not None else (300 if recipe == "fast" else 1000)
    batch = batch if batch is not None else (32 if recipe == "fast" else 128)
    if ema_decay is None:      # fast: evaluate/ship the weight average (0 turns it off)
        ema_decay = 0.9999 if recipe == "fast" else 0.0
    if not 0.0 <= ema_decay < 1.0:
        raise ArgumentError(f"--ema: a decay in [0, 1), got {ema_decay}")
    check_run_folder(out, resume, overwrite)
    device = select(device)

    model = SRCNN(f1=f1, f2=f2, f3=f3, n1=n1, n2=n2, extra_layers=extra_layers, seed=seed,
                  init_scheme="paper" if recipe == "paper" else "he")
    if init_from is not None:
        start_from(model, init_from, added_init)
    train_set, test_set = load_dataset("T91", root=data), load_dataset(test_set, root=data)
    check_training_data(train_set, test_set)
    x, y = make_patches(train_set, scale, model.shrink, max_images)
    test = SRTest(test_set, scale)
    print(f"SRCNN {variant} x{scale}, recipe {recipe}: {len(x)} sub-images from {train_set.name}, "
          f"{epochs} epochs of {math.ceil(len(x) / batch)} batches of {batch}, device "
          f"{describe(device)}; {test_set.name} bicubic {test.bicubic:.2f} dB")

    model.to(device)
    optimizer = build_optimizer(model, recipe, lr)
    schedules = {"lr": optim.StepLR(optimizer, step_size=max(1, epochs // 5), gamma=0.5)} \
        if recipe == "fast" else {}
    averages = {"model": optim.EMA(model, ema_decay)} if ema_decay else {}
    meta = {"model": "srcnn", "config": model.config, "scale": scale, "recipe": recipe, "seed": seed,
            "ema_decay": ema_decay}
    title = f"SRCNN {variant} x{scale} ({recipe}) on {test_set.name}"
    loss_label = "training loss" + (" (Caffe Euclidean)" if recipe == "paper" else " (MSE)")

    def draw(history):
        draw_curves(history, out, title, loss_label)

    t0 = time.perf_counter()
    history = fit(supervised_step(model, optimizer, loss_for(recipe), device),
                  array_batches(x, y, batch, seed, device),
                  modules={"model": model}, optimizers={"model": optimizer}, schedules=schedules,
                  averages=averages, epochs=epochs, out_dir=out, meta=meta, resume=resume,
                  evaluate=lambda: {"psnr": test.psnr(model, device), "bicubic": test.bicubic},
                  on_epoch_end=lambda epoch, h: (epoch + 1) % 10 == 0 and draw(h),  # ~0.5 s a plot
                  on_stop=draw, progress=progress, max_steps=max_steps,
                  max_seconds=None if max_minutes is None else 60.0 * max_minutes,
                  stop_mid_epoch=stop_mid_epoch)
    seconds = time.perf_counter() - t0
    if averages:               # ship the averaged weights: the ones evaluated every epoch
        averages["model"].apply()
    model_path = export_model(model, os.path.join(out, f"srcnn_{variant}_x{scale}.npz"), scale,
                              recipe=recipe, epochs=epochs, seed=seed, init_from=init_from and str(init_from))
    summary = {"model_path": model_path, "seconds": seconds,
               "iterations": history["iteration"][-1] if history["iteration"] else 0,
               "bicubic": test.bicubic, "psnr": history["eval"][-1]["psnr"] if history["eval"] else None,
               "epochs_run": len(history["epoch_seconds"])}
    test.crop_figure(model, device, os.path.join(out, "crop.png"), "SRCNN")
    print(f"done in {seconds / 60:.1f} min: {test_set.name} x{scale} SRCNN {summary['psnr']:.2f} dB "
          f"vs bicubic {test.bicubic:.2f} dB; model {model_path}")
    return summary
