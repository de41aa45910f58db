"""What every super-resolution recipe shares, so that a recipe file keeps only what is its
method's own (data, model, optimiser, schedule, loss).

- ``supervised_step``: the step function of a network trained on (input, target) batches;
- ``array_batches``: seeded, resumable batch orders over patch arrays held on the device;
- ``patch_batches``: the same over a ``PairPatches`` set, whole passes or fixed-size epochs;
- ``SRTest``: the test set's Y pairs, the bicubic baseline and the model's PSNR on it,
  under the papers' protocol (MATLAB bicubic, uint8 rounding, shave = scale);
- ``check_training_data``: a plain warning when the real sets are missing;
- ``draw_curves`` and ``crop_figure``: the loss and PSNR curves and the side-by-side crop;
- ``export_model``: the trained model as a file for eval/upscale.
"""
import os
import warnings

import numpy as np

from tinysr import backend, checkpoint
from tinysr.data import make_pair, round_uint8, y_channel
from tinysr.errors import ArgumentError
from tinysr.evaluate import score
from tinysr.inference import super_resolve_y
from tinysr.metrics import Protocol
from tinysr.models.registry import model_state
from tinysr.tensor import tensor
from tinysr.training import figures


def supervised_step(model, optimizer, loss_fn, device, after_backward=None, name="loss"):
    """step((x, y)) -> {name: loss}: zero the gradients, ``loss_fn(model, x, y)``, backward,
    ``after_backward(optimizer)`` (gradient clipping), then the optimiser's step."""
    def step(batch):
        x, y = batch
        optimizer.zero_grad()
        loss = loss_fn(model, tensor(x, device=device), tensor(y, device=device))
        loss.backward()
        if after_backward is not None:
            after_backward(optimizer)
        optimizer.step()
        return {name: loss.data}
    return step


def array_batches(x, y, batch, seed, device):
    """batches(epoch) -> (iterator of (x, y) batches, samples): the arrays go to the device
    once; each epoch's order is a function of (seed, epoch), so a resumed run continues with
    the same batches. Only full batches are used, as Caffe does."""
    be = backend.get(device)
    xs, ys = be.asarray(x), be.asarray(y)

    def batches(epoch):
        order = np.random.default_rng((seed, epoch)).permutation(len(x))
        full = len(order) // batch * batch

        def gen():
            for i in range(0, full, batch):
                idx = be.asarray(order[i:i + batch])
                yield xs[idx], ys[idx]
        return gen(), full
    return batches


def patch_batches(patches, batch, seed, per_epoch=None):
    """batches(epoch): the paper's epochs are seeded permutations of every patch; a fast
    "epoch" is the next ``per_epoch`` batches of an endless stream of seeded passes."""
    full = len(patches) // batch * batch          # full batches only, per pass
    if full == 0:
        raise ArgumentError(f"{len(patches)} training patches, fewer than one batch of {batch}: "
                            "use more images or a smaller --batch")

    def batches(epoch):
        if per_epoch is None:
            order = np.random.default_rng((seed, epoch)).permutation(len(patches))[:full]
        else:
            stream = np.arange(epoch * per_epoch * batch, (epoch + 1) * per_epoch * batch)
            passes = {c: np.random.default_rng((seed, c)).permutation(len(patches))
                      for c in np.unique(stream // full)}
            order = np.array([passes[c][k] for c, k in zip(stream // full, stream % full)])
        return (patches.batch(order[i:i + batch]) for i in range(0, len(order), batch)), len(order)
    return batches


class SRTest:
    """A test set prepared once: (name, ilr, hr) float64 Y pairs at one scale."""

    def __init__(self, dataset, scale):
        self.dataset, self.scale, self.protocol = dataset, scale, Protocol.matlab(scale)
        self.pairs = [(name, *make_pair(y_channel(img), scale)[1:]) for name, img in dataset]
        self.bicubic = float(np.mean([score(ilr, hr, self.protocol)[0] for _, ilr, hr in self.pairs]))

    def score(self, sr, hr):
        """PSNR of one float Y output against its HR under the set's protocol."""
        return score(sr, hr, self.protocol)[0]

    def psnr(self, model, device):
        """Mean PSNR of ``model`` (run by tinysr.inference) over the set."""
        model.eval()
        return float(np.mean([score(super_resolve_y(model, ilr, device), hr, self.protocol)[0]
                              for _, ilr, hr in self.pairs]))

    def crop_figure(self, model, device, path, label, image="butterfly_GT", others=()):
        """bicubic | (others) | model | ground truth on a 96-pixel crop of one image, PSNRs
        in the labels; ``others``: (label, model) pairs shown before this model."""
        names = [name for name, _, _ in self.pairs]
        _, ilr, hr = self.pairs[names.index(image) if image in names else 0]
        panels = [(f"bicubic {score(ilr, hr, self.protocol)[0]:.2f} dB", round_uint8(ilr * 255))]
        for name, net in [*others, (label, model)]:
            net.eval()
            sr = super_resolve_y(net, ilr, device)
            panels.append((f"{name} {score(sr, hr, self.protocol)[0]:.2f} dB", round_uint8(sr * 255)))
        panels.append(("ground truth", round_uint8(hr * 255)))
        size = min(96, *hr.shape)
        figures.side_by_side(panels, path, crop=((hr.shape[0] - size) // 2, (hr.shape[1] - size) // 2, size))


def recipe_settings(recipes, recipe, overrides, choices):
    """The named recipe's settings with each override that is not None, every named choice
    (setting -> allowed values) and the weight average's decay checked, with the flag's name."""
    if recipe not in recipes:
        raise ArgumentError(f"--recipe: one of {', '.join(recipes)}, got {recipe!r}")
    r = dict(recipes[recipe], **{k: v for k, v in overrides.items() if v is not None})
    for key, allowed in choices.items():
        if r[key] not in allowed:
            raise ArgumentError(f"--{key}: one of {', '.join(allowed)}, got {r[key]!r}")
    if not 0.0 <= r["ema"] < 1.0:
        raise ArgumentError(f"--ema: a decay in [0, 1), got {r['ema']}")
    return r


def check_training_data(train_set, test_set):
    """Say plainly when the real sets are missing and the sample photos stand in."""
    if not train_set.is_sample:
        return
    same = " and scoring on the same photos, so the PSNR shows fitting, not generalisation" \
        if test_set.is_sample else ""
    warnings.warn(f"{train_set.name!r} stands in for the missing training set: training on "
                  f"{len(train_set)} scikit-image sample photos{same}; the numbers are NOT comparable "
                  "to the paper's (give the data with --data or TINYSR_DATA)")


def draw_curves(history, out, title, loss_label="training loss (MSE)", loss_key="loss", psnr_keys=("psnr",),
                label=None, compare=None):
    """loss.png (``history[loss_key]``, with ``compare`` {label: (iterations, values)} on the
    same axes) and psnr.png (each of ``psnr_keys`` beside bicubic), into ``out``."""
    figures.loss_curve(history, os.path.join(out, "loss.png"), loss_label, loss_key, label, compare)
    if history["eval"]:
        figures.psnr_curve(history, os.path.join(out, "psnr.png"), title, psnr_keys)


def training_curve(path, key="loss"):
    """(iterations, values) of ``key`` from a run's training checkpoint, for ``compare``."""
    import json
    state = checkpoint.load(path)
    history = json.loads(state["train"]["history"])
    return history["iteration"], history[key]


def export_model(model, path, scale, **meta):
    """Save ``model`` as a model file for ``tinysr eval --model`` and ``tinysr upscale``
    (call ``EMA.apply()`` first to ship a weight average)."""
    checkpoint.save(model_state(model, scale, **meta), path)
    return path
