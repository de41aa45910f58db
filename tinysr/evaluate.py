"""Evaluate any upscaler on named sets under the MATLAB Y protocol.

An *upscaler* is a callable `f(lr, ilr, scale) -> sr` working on the Y channel as float64
in [0, 1] (the SRCNN code's convention): `lr` is the LR image, `ilr` its bicubic upscaling
to the HR size (the input of SRCNN/VDSR), and `sr` must have the HR shape. The output is
scaled by 255 and rounded to uint8 (MATLAB `uint8()`) only for scoring.

`METHODS` maps a method name to a factory `factory(scale, **opts) -> upscaler`; add a
method with one line.

Under `mpiexec -n N` (tinysr.distributed) rank r scores images r, r + N, ... of each set,
and every rank gets all rows back in the one-process order, so the table is the same.
"""
import csv
import math
from dataclasses import dataclass, field

import numpy as np

from . import distributed
from .atomic import atomic_write
from .classic import aplus_upscaler, bicubic_upscaler, scsr_cvpr08_upscaler, scsr_upscaler
from .data import SAMPLE_SET, load_dataset, make_pair, round_uint8, y_channel
from .metrics import Protocol, psnr, ssim

METHODS = {
    "bicubic": bicubic_upscaler,
    "aplus": aplus_upscaler,
    "scsr": scsr_upscaler,
    "scsr-cvpr08": scsr_cvpr08_upscaler,
}

CSV_COLUMNS = ("method", "set", "scale", "image", "psnr", "ssim")


def upscaler_from_checkpoint(path, scale):
    """An upscaler from any model file (tinysr.inference.load_upscaler) for ``scale``: a
    dictionary refuses another scale than its own, a network warns."""
    from .inference import load_upscaler    # models import lazily: plain evaluation never needs them
    upscaler = load_upscaler(path)
    upscaler.scale_for(scale)
    return upscaler.y


def per_scale(factory, **opts):
    """One upscaler for all scales, building `factory(scale, **opts)` once per scale."""
    built = {}

    def upscale(lr, ilr, scale):
        if scale not in built:
            built[scale] = factory(scale, **opts)
        return built[scale](lr, ilr, scale)
    return upscale


@dataclass
class Results:
    method: str
    rows: list = field(default_factory=list)      # one dict per image (CSV_COLUMNS keys)
    protocols: dict = field(default_factory=dict)  # scale -> Protocol
    per_image: bool = False

    def means(self):
        """One row per (set, scale) with image = "mean": mean of per-image PSNR/SSIM."""
        groups = {}
        for r in self.rows:
            groups.setdefault((r["set"], r["scale"]), []).append(r)
        return [{"method": self.method, "set": s, "scale": k, "image": "mean",
                 "psnr": float(np.mean([r["psnr"] for r in rs])),  # inf if any image is exact
                 "ssim": float(np.mean([r["ssim"] for r in rs]))}
                for (s, k), rs in groups.items()]

    def mean(self, set_name, scale):
        return next(r for r in self.means() if r["set"] == set_name and r["scale"] == scale)

    def table(self, per_image=None):
        per_image = self.per_image if per_image is None else per_image
        lines = [f"method: {self.method}"]
        lines += [str(self.protocols[s]) for s in sorted(self.protocols)]
        lines.append(f"{'set':<16} {'scale':>5} {'image':<16} {'PSNR':>8} {'SSIM':>7}")
        for m in self.means():
            rows = [r for r in self.rows if r["set"] == m["set"] and r["scale"] == m["scale"]]
            for r in (rows if per_image else []) + [m]:
                lines.append(f"{r['set']:<16} {'x%d' % r['scale']:>5} {r['image']:<16} "
                             f"{_fmt(r['psnr'], 2):>8} {_fmt(r['ssim'], 4):>7}")
        if any(r["set"] == SAMPLE_SET for r in self.rows):
            lines.append(f"note: {SAMPLE_SET} are scikit-image photos standing in for missing data; "
                         "these numbers are NOT comparable to the papers'")
        return "\n".join(lines)

    __str__ = table

    def to_csv(self, path):
        with atomic_write(path, "w") as f:
            out = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            out.writeheader()
            for m in self.means():
                out.writerows([r for r in self.rows if r["set"] == m["set"] and r["scale"] == m["scale"]])
                out.writerow(m)


def _fmt(x, digits):
    return "inf" if math.isinf(x) else f"{x:.{digits}f}"


def score(sr, hr, protocol):
    """PSNR and SSIM of float [0,1] Y images under `protocol` (uint8 rounding, shave)."""
    a, b = round_uint8(hr * 255.0), round_uint8(sr * 255.0)
    return psnr(a, b, protocol.shave), ssim(a, b, protocol.shave)


def evaluate(upscaler, sets, scales, root=None, per_image=False, method="custom", datasets=None,
             download=False):
    """Score `upscaler` on each set and scale; returns Results (per image, with set means).

    `datasets` may map set names to already-loaded Dataset objects (tests, notebooks);
    `download` fetches a missing named set from its public source before falling back.
    """
    world = distributed.world()
    results = Results(method, per_image=per_image)
    protocols = {scale: results.protocols.setdefault(scale, Protocol.matlab(scale)) for scale in scales}
    done, keyed = [], []        # rows keyed by (set, image) so that the ranks' shares merge in order
    for set_name in sets:
        ds = (datasets or {}).get(set_name)
        ds = load_dataset(set_name, root=root, download=download) if ds is None else ds
        if ds.name in done:
            continue  # e.g. Set5 and Set14 both fell back to the same sample set
        done.append(ds.name)
        with world.guard():         # one rank's failure stops every rank, naming it
            for index, (name, img) in world.mine(ds):  # one image in memory at a time
                y = y_channel(img)
                for scale, protocol in protocols.items():
                    lr, ilr, hr = make_pair(y, scale)
                    sr = np.asarray(upscaler(lr, ilr, scale), dtype=np.float64)
                    if sr.shape != hr.shape:
                        raise ValueError(f"{method} returned {sr.shape} for {ds.name}/{name}, expected {hr.shape}")
                    p, s = score(sr, hr, protocol)
                    keyed.append(((len(done), index), {"method": method, "set": ds.name, "scale": scale,
                                                       "image": name, "psnr": p, "ssim": s}))
    results.rows = world.collect(keyed)
    return results


__all__ = ["evaluate", "METHODS", "Results", "upscaler_from_checkpoint", "per_scale", "score", "CSV_COLUMNS"]
