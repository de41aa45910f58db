import os
from pathlib import Path

import numpy as np
import pytest

from tinysr.data import load_dataset, make_pair
from tinysr.data.image_io import read_image
from tinysr.data.patches import (count_srcnn_patches, dihedral, random_crops, random_pair_crops,
                                 shuffled, srcnn_pairs, vdsr_batches, vdsr_pairs)

DATA = os.environ.get("TINYSR_DATA")


def _images(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((int(rng.integers(40, 70)), int(rng.integers(40, 70)))) for _ in range(n)]


def test_srcnn_label_is_central_crop_of_hr():
    ys = _images(1)
    _, ilr, hr = make_pair(ys[0], 3)
    x, y = next(srcnn_pairs(ys, 3))
    assert x.shape == (33, 33) and y.shape == (21, 21)
    np.testing.assert_array_equal(x, ilr[:33, :33])
    np.testing.assert_array_equal(y, hr[6:27, 6:27])
    x, y = next(srcnn_pairs(ys, 3, label_size=17))  # 9-5-5 network
    np.testing.assert_array_equal(y, hr[8:25, 8:25])


def test_srcnn_count_formula_matches_generator():
    ys = _images(4)
    assert sum(1 for _ in srcnn_pairs(ys, 3)) == count_srcnn_patches([y.shape for y in ys], 3)


def test_batches_are_deterministic_and_complete():
    ys = _images(3)
    run = lambda seed: list(vdsr_batches(ys, (2,), batch_size=4, seed=seed, buffer=5,  # noqa: E731
                                         size=21, stride=21, augment=False))
    a, b, c = run(1), run(1), run(2)
    assert all(np.array_equal(p[0], q[0]) and np.array_equal(p[1], q[1]) for p, q in zip(a, b))
    assert not np.array_equal(a[0][0], c[0][0])
    assert a[0][0].shape == (4, 1, 21, 21) and a[0][0].dtype == np.float32
    assert sum(len(x) for x, _, _ in a) == len(list(vdsr_pairs(ys, (2,), size=21, stride=21, augment=False)))


def test_shuffle_is_a_permutation_with_bounded_buffer():
    out = list(shuffled(iter(range(100)), np.random.default_rng(0), buffer=7))
    assert sorted(out) == list(range(100)) and out != list(range(100))


def test_streaming_reads_images_lazily():
    ys = _images(5)
    reads = []

    class Lazy(list):
        def __getitem__(self, i):
            reads.append(i)
            return list.__getitem__(self, i)

    next(vdsr_batches(Lazy(ys), (3,), batch_size=4, buffer=4, size=21, stride=21))
    assert len(reads) < len(ys)


def test_vdsr_patches_mix_scales_and_augment():
    ys = _images(2)
    pairs = list(vdsr_pairs(ys, scales=(2, 3, 4), size=21, stride=21))
    assert {s for _, _, s in pairs} == {2, 3, 4}
    assert all(x.shape == y.shape == (21, 21) for x, y, _ in pairs)
    plain = list(vdsr_pairs(ys, scales=(2,), size=21, stride=21, augment=False))
    assert len(plain) < len(pairs)
    x, y, s = next(vdsr_batches(ys, batch_size=8, size=21, stride=21, seed=0))
    assert x.shape == (8, 1, 21, 21) and s.shape == (8,)


def test_dihedral_gives_eight_distinct_transforms():
    a = np.arange(12).reshape(3, 4)
    outs = [dihedral(a, k) for k in range(8)]
    assert len({o.tobytes() + bytes(o.shape) for o in outs}) == 8
    np.testing.assert_array_equal(outs[0], a)


def test_random_crops_deterministic():
    imgs = [np.random.default_rng(i).integers(0, 256, (30, 40, 3), dtype=np.uint8) for i in range(3)]
    a, b = next(random_crops(imgs, 16, 5, seed=3)), next(random_crops(imgs, 16, 5, seed=3))
    assert a.shape == (5, 3, 16, 16) and np.array_equal(a, b) and 0 <= a.min() and a.max() <= 1
    pairs = [make_pair(y, 2)[1:] for y in _images(2)]
    x, y = next(random_pair_crops(pairs, 12, 4, seed=0))
    assert x.shape == y.shape == (4, 1, 12, 12)


@pytest.mark.skipif(not (DATA and Path(DATA, "T91").is_dir()), reason="TINYSR_DATA has no T91")
def test_t91_srcnn_x3_count():
    ds = load_dataset("T91", root=DATA)
    shapes = [read_image(f).shape[:2] for f in ds.files]
    assert count_srcnn_patches(shapes, 3) == 21884  # the released generate_train.m; paper says ~24,800
