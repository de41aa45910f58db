"""Aligned CelebA faces for the srez 4x face super-resolver.

The shared CelebA10k set holds 10,000 "Align&Cropped" faces at 89x109, half the size srez
read. So srez's 144x144 face box and 128x128 random crop, then 2x and 4x box averages,
become here a 72x72 box (rows 26-97, columns 8-79: the same box at half scale) and a random
64x64 crop inside it, which is directly the HR; the LR is its 4x4 box average (16x16).

Augmentation in srez's order, per face: a random left-right flip, saturation x [0.95, 1.05]
(in HSV, as TensorFlow's adjust_saturation), brightness + [-0.05, 0.05], contrast x
[0.95, 1.05] about each channel's mean; like TensorFlow, only the saturation is clipped.
The sorted file list is shuffled with a fixed seed; the last ``held_out`` faces never train,
and the last 16 of those are the fixed test vectors every figure shows.
"""
import numpy as np

from .datasets import load_dataset

BOX = (26, 8, 72)          # top, left, size of the face box at CelebA10k's half scale
HR_SIZE, SCALE = 64, 4
TEST_VECTORS = 16


def box_average(images, k):
    """k x k block means of (N, C, H, W) (TensorFlow's resize_area by an integer factor)."""
    n, c, h, w = images.shape
    return images.reshape(n, c, h // k, k, w // k, k).mean(axis=(3, 5))


def adjust_saturation(rgb, factor):
    """(H, W, 3) in [0, 1]: the HSV saturation times ``factor``, clipped to [0, 1]."""
    from matplotlib.colors import hsv_to_rgb, rgb_to_hsv
    hsv = rgb_to_hsv(np.clip(rgb, 0.0, 1.0))
    hsv[..., 1] = np.clip(hsv[..., 1] * factor, 0.0, 1.0)
    return hsv_to_rgb(hsv)


class Faces:
    """The faces in memory (uint8, ~290 MB for 10,000), split, and batched as (hr, lr)."""

    def __init__(self, root=None, held_out=1000, seed=0, limit=None, name="CelebA"):
        dataset = load_dataset(name, root=root)
        order = np.random.default_rng(seed).permutation(len(dataset))
        if limit is not None:
            order = order[-limit:]
        self.images = np.stack([self._face_array(dataset.read(int(i))) for i in order])
        self.is_sample = dataset.is_sample
        held_out = min(held_out, len(order) // 2)
        self.train = np.arange(len(order) - held_out)
        self.held_out = np.arange(len(order) - held_out, len(order))
        self.test_vectors = self.held_out[-TEST_VECTORS:]

    @staticmethod
    def _face_array(img):
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        top, left, size = BOX
        if img.shape[0] < top + size or img.shape[1] < left + size:
            raise ValueError(f"a face image of {img.shape[1]}x{img.shape[0]} is smaller than the face box; "
                             "CelebA10k's faces are 89x109")
        return img

    def batch(self, indices, rng=None):
        """(hr (N, 3, 64, 64), lr (N, 3, 16, 16)) float32 in [0, 1]; augmented and randomly
        cropped with ``rng``, centre-cropped and untouched without."""
        hrs = []
        top, left, size = BOX
        for i in indices:
            img = self.images[i].astype(np.float64) / 255.0
            if rng is not None:
                if rng.random() < 0.5:
                    img = img[:, ::-1]
                img = adjust_saturation(img, rng.uniform(0.95, 1.05))
                img = img + rng.uniform(-0.05, 0.05)
                mean = img.mean(axis=(0, 1), keepdims=True)
                img = (img - mean) * rng.uniform(0.95, 1.05) + mean
                dy, dx = rng.integers(0, size - HR_SIZE + 1, size=2)
            else:
                dy = dx = (size - HR_SIZE) // 2
            crop = img[top + dy:top + dy + HR_SIZE, left + dx:left + dx + HR_SIZE]
            hrs.append(np.moveaxis(crop, -1, 0))
        hr = np.stack(hrs).astype(np.float32)
        return hr, box_average(hr, SCALE).astype(np.float32)


__all__ = ["Faces", "box_average", "adjust_saturation", "BOX", "HR_SIZE", "SCALE", "TEST_VECTORS"]
