"""Pictures of a run: the loss curve, the PSNR curve, and a side-by-side crop."""
import os

import numpy as np

from tinysr.atomic import atomic_write


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")          # files only; no display needed
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, path, dpi):
    """Write the figure atomically (a run stopped mid-save keeps the previous picture)."""
    with atomic_write(path) as f:
        fig.savefig(f, dpi=dpi, format=os.path.splitext(path)[1][1:] or "png")
    plt.close(fig)


def _iterations_axis(ax):
    from matplotlib.ticker import FuncFormatter
    ax.set_xlabel("iterations (batches)")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v else "0"))


def loss_curve(history, path, ylabel="training MSE", key="loss", label=None, others=None):
    """history[key] against iterations; ``others``: {label: (iterations, values)} drawn on the
    same axes (another run's curve, e.g. SRCNN's beside VDSR's)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["iteration"], history[key], lw=1, label=label)
    for other_label, (its, values) in (others or {}).items():
        ax.plot(its, values, lw=1, label=other_label)
    _iterations_axis(ax)
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if label or others:
        ax.legend()
    fig.tight_layout()
    _save(plt, fig, path, dpi=120)


def psnr_curve(history, path, title, keys=("psnr",)):
    """Each evaluated key (e.g. "psnr", or "x2" "x3" "x4") against iterations, with its
    bicubic baseline dashed ("bicubic" or "bicubic_<key>") when the evaluation kept one."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    its = history["eval_iteration"]
    for key in keys:
        line, = ax.plot(its, [e[key] for e in history["eval"]], marker="o", ms=3,
                        label="model" if key == "psnr" else key)
        base = next((b for b in (f"bicubic_{key}", "bicubic") if history["eval"] and b in history["eval"][0]), None)
        if base is not None and (base != "bicubic" or key == "psnr"):
            ax.plot(its, [e[base] for e in history["eval"]], ls="--", color=line.get_color(),
                    label="bicubic" if key == "psnr" else f"bicubic {key}")
    _iterations_axis(ax)
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(plt, fig, path, dpi=120)


def psnr_runs(curves, path, title, xlabel="iterations", bicubic=None):
    """Several runs' Set5 x3 PSNR on one plot (a sweep, an ablation): ``curves`` {label: (xs, dB)}."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (xs, ys) in curves.items():
        ax.plot(xs, ys, marker="o", ms=3, label=label)
    if bicubic is not None:
        ax.axhline(bicubic, ls="--", color="gray", label="bicubic")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Set5 x3 PSNR (dB)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(plt, fig, str(path), dpi=120)


def recursion_figure(weights, psnrs, bicubic, ensemble, path):
    """DRCN: the learned ensemble weight of each recursion, and the PSNR of each recursion's
    own prediction beside bicubic and the ensemble (the paper's figure on depth)."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    depth = np.arange(1, len(weights) + 1)
    left.bar(depth, weights)
    left.set_xlabel("recursion d")
    left.set_ylabel("ensemble weight w_d (normalised)")
    right.plot(depth, psnrs, marker="o", ms=3, label="prediction of recursion d")
    right.axhline(ensemble, color="C1", label=f"ensemble {ensemble:.2f} dB")
    right.axhline(bicubic, color="gray", ls="--", label=f"bicubic {bicubic:.2f} dB")
    right.set_xlabel("recursion d")
    right.set_ylabel("PSNR (dB)")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(plt, fig, path, dpi=120)


def gan_losses(history, path):
    """disc_real, disc_fake and gene against iterations, with the ln 2 line (equilibrium)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in ("disc_real", "disc_fake", "gene", "l1"):
        if key in history:
            ax.plot(history["iteration"], history[key], lw=1, label=key)
    ax.axhline(np.log(2), color="gray", ls="--", lw=1, label="ln 2 (D at equilibrium)")
    _iterations_axis(ax)
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(plt, fig, path, dpi=120)


def face_sheet(image, path, title, columns=("nearest", "bicubic", "output", "truth")):
    """One (H, W, 3) image in [0, 1] of rows of faces, the column names on top."""
    plt = _pyplot()
    h, w = image.shape[:2]
    fig, ax = plt.subplots(figsize=(w / 64 * 1.2, h / 64 * 1.2 + 0.6))
    ax.imshow(image, interpolation="nearest")
    ax.set_xticks([(i + 0.5) * w / len(columns) for i in range(len(columns))], columns)
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax.set_title(title, fontsize=9, pad=20)
    fig.tight_layout()
    _save(plt, fig, path, dpi=100)


def side_by_side(panels, path, crop=None):
    """panels: list of (label, uint8 or [0,1] float image); crop: (top, left, size)."""
    plt = _pyplot()
    lines = max(str(label).count("\n") + 1 for label, _ in panels)      # room for wrapped titles
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.45 + 0.15 * lines))
    for ax, (label, img) in zip(np.atleast_1d(axes), panels):
        img = np.asarray(img)
        if crop is not None:
            t, l, s = crop
            img = img[t:t + s, l:l + s]
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0,
                  vmax=255 if img.dtype == np.uint8 else 1, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    _save(plt, fig, path, dpi=120)
