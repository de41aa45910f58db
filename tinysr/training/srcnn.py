"""The SRCNN recipes: T91 sub-images -> Set5, as the paper (``paper``) or quicker (``fast``).

paper  SGD, momentum 0.9; lr 1e-4 for layers 1-2, 1e-5 for layer 3, each bias at a tenth
       of its layer's rate; N(0, 0.001) init; Caffe's Euclidean loss (squared error summed
       over the output pixels of each sample, halved, averaged over the batch); batch 128.
fast   the same data and model; He initialisation; Adam (lr 1e-3, batch 32) on the
       per-pixel MSE, 300 epochs by default, lr halved every ``epochs // 5`` epochs, and
       the model evaluated and saved is an exponential moving average of the weights
       (decay 0.9999 per step, ~15 epochs: optim/ema.py says why). Chosen
       by a sweep on a GPU (docs/results.md): smaller batches and lr 1e-3 gained most per
       epoch; 300 epochs (~40 min on 2 CPU cores) rather than 200 because 200 stopped
       0.01 dB short of the paper's 32.39.
"""
import math
import os
import time
import warnings

import numpy as np

from tinysr import backend as backends
from tinysr import functional as F
from tinysr import optim
from tinysr.data import load_dataset, make_pair, round_uint8, y_channel
from tinysr.data.patches import srcnn_pairs
from tinysr.errors import ArgumentError, DeviceError
from tinysr.evaluate import score
from tinysr.inference import super_resolve_y
from tinysr.metrics import Protocol
from tinysr.models import SRCNN
from tinysr.models.registry import model_state
from tinysr.training import figures
from tinysr.training.loop import check_run_folder, fit

RECIPES = ("fast", "paper")


def pick_device(backend):
    """``backend`` is auto, cuda, numba or numpy; returns the tensor device to use."""
    if backend == "auto":
        return "cuda" if backends.cuda_available() else "cpu"
    if backend == "cuda":
        if not backends.cuda_available():
            raise DeviceError("--backend cuda: CuPy with a CUDA GPU is not available here "
                              "(install CuPy: pip install -e \".[gpu]\"), or use --backend auto")
        return "cuda"
    os.environ["TINYSR_BACKEND"] = backend
    backends._cpu_choice = None      # re-read TINYSR_BACKEND
    return "cpu"


def make_patches(dataset, scale, label_size, max_images=None):
    """All SRCNN sub-images of ``dataset`` as float32 (N,1,33,33) inputs, (N,1,L,L) labels."""
    count = len(dataset) if max_images is None else min(max_images, len(dataset))
    ys = [y_channel(dataset.read(i)) for i in range(count)]
    pairs = list(srcnn_pairs(ys, scale, size=33, label_size=label_size, stride=14))
    x = np.stack([p[0] for p in pairs])[:, None].astype(np.float32)
    y = np.stack([p[1] for p in pairs])[:, None].astype(np.float32)
    return x, y


def test_pairs(dataset, scale):
    """(name, ilr, hr) float64 Y pairs for evaluation, made once."""
    return [(name, *make_pair(y_channel(img), scale)[1:]) for name, img in dataset]


def psnr_on(model, pairs, scale, device):
    protocol = Protocol.matlab(scale)
    model.eval()
    values = [score(super_resolve_y(model, ilr, device), hr, protocol)[0] for _, ilr, hr in pairs]
    return float(np.mean(values))


def bicubic_psnr(pairs, scale):
    protocol = Protocol.matlab(scale)
    return float(np.mean([score(ilr, hr, protocol)[0] for _, ilr, hr in pairs]))


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


def train(scale=3, variant="9-1-5", recipe="fast", epochs=None, batch=None, backend="auto", data=None,
          out="runs/srcnn", resume=False, seed=0, lr=None, max_images=None, max_steps=None,
          test_set="Set5", progress=True, ema_decay=None, max_minutes=None, overwrite=False):
    """Train SRCNN and write checkpoints, figures and a summary into ``out``; returns a dict.
    ``resume`` continues the run in ``out``; a new run refuses to replace one unless
    ``overwrite``."""
    if recipe not in RECIPES:
        raise ArgumentError(f"--recipe: one of {', '.join(RECIPES)}, got {recipe!r}")
    try:
        f1, f2, f3 = (int(v) for v in variant.split("-"))
    except ValueError:
        raise ArgumentError(f"--variant: three filter sizes f1-f2-f3 like 9-1-5, got {variant!r}") from None
    if min(f1, f2, f3) < 1 or max(f1, f2, f3) > 33 or not all(f % 2 for f in (f1, f2, f3)):
        raise ArgumentError(f"--variant: odd filter sizes from 1 to 33, got {variant!r}")
    if ema_decay is None:      # fast: evaluate/ship the weight average (0 turns it off)
        ema_decay = 0.9999 if recipe == "fast" else 0.0
    if not 0.0 <= ema_decay < 1.0:
        raise ArgumentError(f"--ema: a decay in [0, 1), got {ema_decay}")
    check_run_folder(out, resume, overwrite)
    epochs = epochs if epochs is not None else (300 if recipe == "fast" else 1000)
    batch = batch if batch is not None else (32 if recipe == "fast" else 128)
    device = pick_device(backend)
    model = SRCNN(f1=f1, f2=f2, f3=f3, seed=seed, init_scheme="paper" if recipe == "paper" else "he")
    label = 33 - 2 * model.shrink
    train_set = load_dataset("T91", root=data)
    test = load_dataset(test_set, root=data)
    if train_set.is_sample:
        same = " and scoring on the same photos, so the PSNR shows fitting, not generalisation" \
            if test.is_sample else ""
        warnings.warn(f"T91 not found: training on {len(train_set)} scikit-image sample photos{same}; "
                      f"the numbers are NOT comparable to the paper's (give the data with --data or "
                      f"TINYSR_DATA)")
    x, y = make_patches(train_set, scale, label, max_images)
    pairs = test_pairs(test, scale)
    base = bicubic_psnr(pairs, scale)
    print(f"SRCNN {variant} x{scale}, recipe {recipe}: {len(x)} sub-images from "
          f"{train_set.name}, {epochs} epochs of {math.ceil(len(x) / batch)} batches of {batch}, "
          f"device {device} ({backends.get(device).NAME}); {test.name} bicubic {base:.2f} dB")

    be = backends.get(device)
    xs, ys = be.asarray(x), be.asarray(y)             # on the device once; batches are views

    def epoch_batches(epoch):
        order = np.random.default_rng((seed, epoch)).permutation(len(x))
        def gen():
            for i in range(0, len(order) - batch + 1, batch):   # full batches only, like Caffe
                idx = be.asarray(order[i:i + batch])
                yield xs[idx], ys[idx]
        return gen(), (len(order) // batch) * batch

    model.to(device)
    optimizer = build_optimizer(model, recipe, lr)
    schedule = optim.StepLR(optimizer, step_size=max(1, epochs // 5), gamma=0.5) if recipe == "fast" else None
    ema = optim.EMA(model, ema_decay) if ema_decay else None
    meta = {"model": "srcnn", "config": model.config, "scale": scale, "recipe": recipe, "seed": seed,
            "ema_decay": ema_decay}
    title = f"SRCNN {variant} x{scale} ({recipe}) on {test.name}"

    def evaluate(m):
        return {"psnr": psnr_on(m, pairs, scale, device), "bicubic": base}

    def draw(epoch, history):
        if (epoch + 1) % 10 == 0:          # plotting costs ~0.5 s; every 10 epochs, and at the stop
            draw_all(history)

    def draw_all(history):
        figures.loss_curve(history, os.path.join(out, "loss.png"),
                           "training loss" + (" (Caffe Euclidean)" if recipe == "paper" else " (MSE)"))
        figures.psnr_curve(history, os.path.join(out, "psnr.png"), title)

    t0 = time.perf_counter()
    history = fit(model, optimizer, epoch_batches, loss_for(recipe), epochs=epochs, out_dir=out,
                  meta=meta, device=device, schedule=schedule, evaluate=evaluate, resume=resume,
                  on_epoch_end=draw, on_stop=draw_all, progress=progress, max_steps=max_steps, ema=ema,
                  max_seconds=None if max_minutes is None else 60.0 * max_minutes)
    seconds = time.perf_counter() - t0
    if ema is not None:          # ship the averaged weights: the ones evaluated every epoch
        for name, p in model.named_parameters():
            p.data = ema.shadow[name]
    import tinysr
    model_path = os.path.join(out, f"srcnn_{variant}_x{scale}.npz")
    tinysr.save(model_state(model, scale, recipe=recipe, epochs=epochs, seed=seed), model_path)
    summary = {"model_path": model_path, "seconds": seconds, "iterations": history["iteration"][-1] if history["iteration"] else 0,
               "bicubic": base, "psnr": history["eval"][-1]["psnr"] if history["eval"] else None,
               "epochs_run": len(history["epoch_seconds"])}
    crop_figure(model, test, scale, device, os.path.join(out, "crop.png"))
    print(f"done in {seconds / 60:.1f} min: {test.name} x{scale} SRCNN {summary['psnr']:.2f} dB "
          f"vs bicubic {base:.2f} dB; model {model_path}")
    return summary


def crop_figure(model, dataset, scale, device, path, image=None):
    """bicubic | SRCNN | ground truth on a 96-pixel crop of one test image, PSNRs in the labels."""
    names = dataset.names
    pick = image if image in names else ("butterfly_GT" if "butterfly_GT" in names else names[0])
    name, ilr, hr = test_pairs(_Single(dataset, names.index(pick)), scale)[0]
    sr = super_resolve_y(model, ilr, device)
    protocol = Protocol.matlab(scale)
    panels = [(f"bicubic {score(ilr, hr, protocol)[0]:.2f} dB", round_uint8(ilr * 255)),
              (f"SRCNN {score(sr, hr, protocol)[0]:.2f} dB", round_uint8(sr * 255)),
              ("ground truth", round_uint8(hr * 255))]
    size = min(96, *hr.shape)
    figures.side_by_side(panels, path, crop=((hr.shape[0] - size) // 2, (hr.shape[1] - size) // 2, size))


class _Single:
    """One image of a dataset, iterable like a dataset."""

    def __init__(self, dataset, i):
        self.dataset, self.i = dataset, i

    def __iter__(self):
        yield self.dataset.names[self.i], self.dataset.read(self.i)
