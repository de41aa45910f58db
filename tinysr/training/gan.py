"""The srez recipe: a 4x face super-resolver trained against a discriminator.

Losses (sigma-CE: sigmoid cross-entropy on the logit, averaged over the batch):
    disc_real = CE(D(HR), 1), disc_fake = CE(D(G(lr~)), 0), disc = disc_real + disc_fake
    gene      = adversarial * (1 - l1) * CE(D(G(lr~)), 1) + l1 * mean|box4(G(lr~)) - lr|
with lr~ = lr + N(0, 0.03^2) and the clean lr in the L1 term (srez: l1 = 0.9, the
non-saturating adversarial term; ``--l1 0`` is the seed's "without L1 term" run,
``--adversarial 0`` an L1-only generator). Both networks step on the same batch, from the
same forward pass (a simultaneous update), with Adam (lr 2e-4, beta1 0.5) halved every
5,000 batches; batch 16. At equilibrium each discriminator loss is ln 2 = 0.693.
"""
import math
import os
import time

import numpy as np

from tinysr import checkpoint, optim
from tinysr import functional as F
from tinysr.data.faces import Faces
from tinysr.device import describe, select
from tinysr.errors import ArgumentError
from tinysr.metrics import psnr
from tinysr.models.registry import model_state
from tinysr.models.srez import Discriminator, Generator
from tinysr.tensor import no_grad, tensor
from tinysr.training import figures
from tinysr.training.loop import check_run_folder, fit

EPOCH_BATCHES = 100                       # a checkpoint and an evaluation every 100 batches
SHEETS_AT = (10, 50, 200, 500, 1500)
NOISE = 0.03


def gan_step(gen, disc, opt_g, opt_d, device, l1_factor, adversarial):
    """step((hr, lr, noise)) -> {"disc_real", "disc_fake", "gene", "l1"}."""
    ones = lambda n: tensor(np.ones(n, np.float32), device=device)    # noqa: E731
    zeros = lambda n: tensor(np.zeros(n, np.float32), device=device)  # noqa: E731

    def step(batch):
        hr, lr, noisy = (tensor(a, device=device) for a in (batch[0], batch[1], batch[1] + batch[2]))
        n = len(batch[0])
        fake = gen(noisy)
        l1 = F.mean(F.abs(F.avg_pool2d(fake, 4) - lr))
        values, gene = {"l1": l1.data}, l1 * l1_factor
        if adversarial:
            # The discriminator's loss sees the generator's output as a constant: a D pass on
            # the detached output (the same values and batch statistics as the one below).
            disc_real = F.binary_cross_entropy_with_logits(disc(hr), ones(n))
            disc_fake = F.binary_cross_entropy_with_logits(disc(fake.detach()), zeros(n))
            opt_d.zero_grad()
            (disc_real + disc_fake).backward()
            values.update(disc_real=disc_real.data, disc_fake=disc_fake.data)
            frozen = disc.parameters()
            for p in frozen:             # the generator's loss flows through D, but never into it
                p.requires_grad = False
            try:
                gene = gene + F.binary_cross_entropy_with_logits(disc(fake), ones(n)) * (adversarial * (1 - l1_factor))
                opt_g.zero_grad()
                gene.backward()
            finally:
                for p in frozen:
                    p.requires_grad = True
            opt_d.step()                 # both step from the same forward pass: a simultaneous update
        else:
            opt_g.zero_grad()
            gene.backward()
        opt_g.step()
        values["gene"] = gene.data
        return values
    return step


def face_batches(faces, batch, seed, epoch_batches=EPOCH_BATCHES):
    """batches(epoch) -> (hr, lr, noise) batches: ``epoch_batches`` augmented batches from
    seeded passes over the training faces, with the generator's input noise; everything is
    a function of (seed, batch number), so a resumed run sees the same batches."""
    per_pass = len(faces.train) // batch
    if per_pass == 0:
        raise ArgumentError(f"{len(faces.train)} training faces, fewer than one batch of {batch}")

    def batches(epoch):
        def gen():
            for b in range(epoch * epoch_batches, (epoch + 1) * epoch_batches):
                cycle, k = divmod(b, per_pass)
                order = np.random.default_rng((seed, cycle)).permutation(faces.train)
                rng = np.random.default_rng((seed, cycle, k))
                hr, lr = faces.batch(order[k * batch:(k + 1) * batch], rng)
                yield hr, lr, rng.normal(0.0, NOISE, lr.shape).astype(np.float32)
        return gen(), epoch_batches * batch
    return batches


def upscale_faces(gen, lr, device):
    gen.eval()
    with no_grad():
        return gen(tensor(lr, device=device)).numpy()


def rgb_psnr(a, b):
    """Mean per-image PSNR of (N, 3, H, W) float images in [0, 1], rounded to uint8."""
    q = lambda x: np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)  # noqa: E731
    return float(np.mean([psnr(q(x), q(y), 0) for x, y in zip(a, b)]))


def bicubic_faces(lr):
    from tinysr.data import imresize
    return np.stack([np.moveaxis(imresize(np.moveaxis(x, 0, -1).astype(np.float64), scale=4), -1, 0) for x in lr])


def sample_sheet(gen, hr, lr, device, path, title):
    """nearest | bicubic | output | truth for each test face, one row each."""
    out = upscale_faces(gen, lr, device)
    nearest = lr.repeat(4, axis=2).repeat(4, axis=3)
    rows = [np.concatenate([np.moveaxis(im[i], 0, -1) for im in (nearest, bicubic_faces(lr), out, hr)], axis=1)
            for i in range(len(hr))]
    figures.face_sheet(np.clip(np.concatenate(rows, axis=0), 0, 1), path, title)


def train(epochs=15, batch=16, l1_factor=0.9, adversarial=1.0, lr=2e-4, device="auto", data=None, out="runs/gan",
          resume=False, overwrite=False, seed=0, max_faces=None, max_steps=None, max_minutes=None,
          stop_mid_epoch=False, progress=True):
    """Train the srez generator (and discriminator); returns a dict with the model path."""
    if not 0.0 <= l1_factor <= 1.0 or adversarial < 0:
        raise ArgumentError(f"--l1 must be in [0, 1] and --adversarial >= 0, got {l1_factor}, {adversarial}")
    if l1_factor == 0 and adversarial == 0:
        raise ArgumentError("--l1 0 and --adversarial 0 leave the generator nothing to learn")
    check_run_folder(out, resume, overwrite)
    device = select(device)
    faces = Faces(root=data, limit=max_faces)
    if faces.is_sample:
        raise ArgumentError("the CelebA10k faces were not found (give them with --data or TINYSR_DATA); "
                            "the sample photos are not faces")
    test_hr, test_lr = faces.batch(faces.test_vectors)
    gen, disc = Generator(seed=seed).to(device), Discriminator(seed=seed + 1).to(device)
    opt_g = optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    halve = max(1, 5000 // EPOCH_BATCHES)
    schedules = {"gen": optim.StepLR(opt_g, halve, 0.5), "disc": optim.StepLR(opt_d, halve, 0.5)}
    meta = {"model": "srez_generator", "config": gen.config, "scale": 4, "l1": l1_factor,
            "adversarial": adversarial, "seed": seed}
    print(f"srez 4x faces: {len(faces.train)} training faces, {len(faces.held_out)} held out, {epochs} epochs of "
          f"{EPOCH_BATCHES} batches of {batch}, l1 {l1_factor}, adversarial {adversarial}, device {describe(device)}")
    bicubic = rgb_psnr(bicubic_faces(test_lr), test_hr)

    def on_step(iteration, values):
        if iteration % 10 == 0 and progress:
            print(f"[{iteration}] " + ", ".join(f"{k} {float(getattr(v, 'item', lambda: v)()):.4f}"
                                                 for k, v in values.items()), flush=True)
        if iteration in SHEETS_AT:
            sample_sheet(gen, test_hr, test_lr, device, os.path.join(out, f"faces_{iteration:05d}.png"),
                         f"after {iteration} iterations (l1 {l1_factor}, adversarial {adversarial})")
            gen.train()

    def evaluate():
        return {"psnr": rgb_psnr(upscale_faces(gen, test_lr, device), test_hr), "bicubic": bicubic}

    t0 = time.perf_counter()
    history = fit(gan_step(gen, disc, opt_g, opt_d, device, l1_factor, adversarial),
                  face_batches(faces, batch, seed), modules={"gen": gen, "disc": disc},
                  optimizers={"gen": opt_g, "disc": opt_d}, schedules=schedules, epochs=epochs, out_dir=out,
                  meta=meta, resume=resume, evaluate=evaluate, progress=progress, log_every=10,
                  on_stop=lambda history: figures.gan_losses(history, os.path.join(out, "losses.png")),
                  max_steps=max_steps, max_seconds=None if max_minutes is None else 60.0 * max_minutes,
                  stop_mid_epoch=stop_mid_epoch, on_step=on_step)
    seconds = time.perf_counter() - t0
    model_path = os.path.join(out, "gan_generator.npz")
    checkpoint.save(model_state(gen, 4, l1=l1_factor, adversarial=adversarial, seed=seed), model_path)
    last = history["eval"][-1] if history["eval"] else {}
    print(f"done in {seconds / 60:.1f} min: test faces RGB PSNR {last.get('psnr', math.nan):.2f} dB vs bicubic "
          f"{bicubic:.2f} dB; model {model_path}")
    return {"model_path": model_path, "seconds": seconds, "history": history, "bicubic": bicubic,
            "iterations": history["iteration"][-1] if history["iteration"] else 0}
