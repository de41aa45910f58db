"""Training patches, streamed in batches and deterministic under a seed.

- SRCNN (generate_train.m): 33x33 sub-images of the ILR on a stride-14 grid; the label is
  the central crop of the HR that a valid-convolution network outputs (21x21 for 9-1-5).
- VDSR: 41x41 ILR/HR patches on a stride-41 grid, over the 8 flips/rotations of each image
  and several scales mixed in one stream (each patch carries its scale).
- Random crops of whole images (GAN / face training) and of precomputed (ilr, hr) pairs.

Generators hold one image's patches plus a bounded shuffle buffer, never the whole set.
Arrays come out as float32 NCHW in [0, 1]; the float64 degradation happens before.
"""
import numpy as np

from .colour import y_channel
from .datasets import Dataset
from .degrade import make_pair


def _images(source):
    """(count, get(i) -> float64 Y) for a Dataset or a sequence of float Y arrays."""
    if isinstance(source, Dataset):
        return len(source), lambda i: y_channel(source.read(i))
    return len(source), lambda i: np.asarray(source[i], dtype=np.float64)


def grid(h, w, size, stride):
    return [(i, j) for i in range(0, h - size + 1, stride) for j in range(0, w - size + 1, stride)]


def dihedral(img, k):
    """The k-th of the 8 flips/rotations (k = 0 is the identity)."""
    img = np.rot90(img, k % 4)
    return np.ascontiguousarray(img[:, ::-1] if k >= 4 else img)


def count_srcnn_patches(shapes, scale, size=33, stride=14):
    """Sub-images SRCNN's generate_train.m makes from images of the given (h, w)."""
    return sum(len(grid(h - h % scale, w - w % scale, size, stride)) for h, w in shapes)


def srcnn_pairs(source, scale, size=33, label_size=21, stride=14, order=None):
    """Yield (input size x size, label label_size x label_size) float64 per sub-image."""
    n, get = _images(source)
    pad = (size - label_size) // 2
    for k in (range(n) if order is None else order):
        _, ilr, hr = make_pair(get(k), scale)
        for i, j in grid(*hr.shape, size, stride):
            yield ilr[i:i + size, j:j + size], hr[i + pad:i + pad + label_size, j + pad:j + pad + label_size]


def vdsr_pairs(source, scales=(2, 3, 4), size=41, stride=41, augment=True, order=None):
    """Yield (ilr patch, hr patch, scale) over images x flips/rotations x scales."""
    n, get = _images(source)
    for k in (range(n) if order is None else order):
        y = get(k)
        for t in range(8 if augment else 1):
            for s in scales:
                _, ilr, hr = make_pair(dihedral(y, t), s)
                for i, j in grid(*hr.shape, size, stride):
                    yield ilr[i:i + size, j:j + size], hr[i:i + size, j:j + size], s


def shuffled(items, rng, buffer=4096):
    """Reservoir-style shuffle of a stream with bounded memory (exact when buffer >= stream)."""
    buf = []
    for item in items:
        if len(buf) < buffer:
            buf.append(item)
            continue
        j = rng.integers(buffer)
        yield buf[j]
        buf[j] = item
    yield from (buf[i] for i in rng.permutation(len(buf)))


def batched(items, batch_size, drop_last=False):
    """Group a stream of tuples into tuples of stacked float32 NCHW arrays (scalars stay 1-D)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == batch_size:
            yield _stack(batch)
            batch = []
    if batch and not drop_last:
        yield _stack(batch)


def _stack(batch):
    cols = list(zip(*batch))
    return tuple(np.asarray(c) if np.ndim(c[0]) == 0 else np.stack(c)[:, None].astype(np.float32)
                 for c in cols)


def vdsr_batches(source, scales=(2, 3, 4), batch_size=64, seed=0, buffer=4096, **kw):
    """Shuffled mixed-scale VDSR (ilr, hr, scale) batches."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(_images(source)[0])
    return batched(shuffled(vdsr_pairs(source, scales, order=order, **kw), rng, buffer), batch_size)


class PairPatches:
    """Every (ILR, HR) patch of a set on a ``stride`` grid, at each scale, under each of the 8
    flips/rotations, addressable by index, with only the whole-image pairs in memory.

    Each image is first cropped to a multiple of every scale (``lcm(scales)``), so that the
    MATLAB-bicubic degradation commutes with the flips and rotations: the patch of a
    rotated image is the rotated patch. Index ``k`` names (image, scale, grid position,
    transform); ``batch(indices)`` gathers float32 (N, 1, size, size) inputs and targets,
    and ``scales[indices]`` says which scale each one is.
    """

    def __init__(self, source, scales=(2, 3, 4), size=41, stride=41, augment=True):
        n, get = _images(source)
        self.size, self.transforms = size, 8 if augment else 1
        crop = int(np.lcm.reduce(list(scales)))
        self.pairs, entries = [], []
        for k in range(n):
            y = get(k)
            y = y[:y.shape[0] - y.shape[0] % crop, :y.shape[1] - y.shape[1] % crop]
            for s in scales:
                _, ilr, hr = make_pair(y, s)
                pair = len(self.pairs)
                self.pairs.append((ilr.astype(np.float32), hr.astype(np.float32), s))
                entries += [(pair, i, j, t) for i, j in grid(*hr.shape, size, stride)
                            for t in range(self.transforms)]
        self.entries = np.array(entries, dtype=np.int32).reshape(-1, 4)
        self.scales = np.array([self.pairs[p][2] for p in self.entries[:, 0]], dtype=np.int32)

    def __len__(self):
        return len(self.entries)

    def batch(self, indices):
        size = self.size
        xs, ys = [], []
        for pair, i, j, t in self.entries[np.asarray(indices)]:
            ilr, hr, _ = self.pairs[pair]
            xs.append(dihedral(ilr[i:i + size, j:j + size], t))
            ys.append(dihedral(hr[i:i + size, j:j + size], t))
        return np.stack(xs)[:, None], np.stack(ys)[:, None]


def random_crops(images, size, batch_size, seed=0, augment=True):
    """Endless batches of random size x size crops (HxW or HxWxC arrays; uint8 -> [0,1])."""
    rng = np.random.default_rng(seed)
    while True:
        out = []
        for _ in range(batch_size):
            img = images[rng.integers(len(images))]
            i, j = rng.integers(img.shape[0] - size + 1), rng.integers(img.shape[1] - size + 1)
            crop = dihedral(img[i:i + size, j:j + size], rng.integers(8) if augment else 0)
            crop = crop / 255.0 if crop.dtype == np.uint8 else crop
            out.append(crop[None] if crop.ndim == 2 else np.moveaxis(crop, -1, 0))
        yield np.stack(out).astype(np.float32)


def random_pair_crops(pairs, size, batch_size, seed=0, augment=True):
    """Endless batches of aligned random crops from precomputed (ilr, hr) pairs."""
    rng = np.random.default_rng(seed)
    while True:
        xs, ys = [], []
        for _ in range(batch_size):
            ilr, hr = pairs[rng.integers(len(pairs))]
            i, j = rng.integers(hr.shape[0] - size + 1), rng.integers(hr.shape[1] - size + 1)
            t = rng.integers(8) if augment else 0
            xs.append(dihedral(ilr[i:i + size, j:j + size], t))
            ys.append(dihedral(hr[i:i + size, j:j + size], t))
        yield np.stack(xs)[:, None].astype(np.float32), np.stack(ys)[:, None].astype(np.float32)


__all__ = ["grid", "dihedral", "count_srcnn_patches", "srcnn_pairs", "vdsr_pairs", "PairPatches", "shuffled", "batched",
           "vdsr_batches", "random_crops", "random_pair_crops"]
