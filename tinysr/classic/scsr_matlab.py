"""Import Yang et al.'s released ScSR dictionaries (MATLAB .mat files holding Dh and Dl).

- TIP-2010 package (`tinysr.classic.scsr`): `Dictionary/D_1024_0.15_5.mat`, the shipped x2
  dictionary (Demo_SR.m). Dh (25, K): 5x5 HR patches minus their mean; Dl (100, K): the
  four gradient maps of a 5x5 window, stacked as MATLAB's ``mPatchFea(:)`` of a 5x5x4 block.
  Both are flattened column-major (``Hpatch(:)``); this module reorders the rows into the
  row-major layout `scsr` uses (pixel (r, c) at r*5 + c, map f at f*25 + r*5 + c).
- CVPR-08 package (`tinysr.classic.scsr_cvpr08`): `CVPR08-SR/Data/Dictionary/Dictionary.mat`,
  the x3 dictionary behind the 31.42 of the SRCNN and A+ tables. Dh ((3s)^2, K), Dl (144, K)
  in MATLAB's order, which `scsr_cvpr08` keeps as is.

scipy.io.loadmat reads MATLAB's v5/v7 files (MATLAB's default) without unpickling anything;
a v7.3 (HDF5) file is refused with a message. The resulting models save, load and evaluate
like trained ones (``tinysr eval --model``); their `source` names the file.
"""
import os

import numpy as np
import scipy.io

from .scsr import ScSRConfig, ScSRModel
from .scsr_cvpr08 import LZ, ScSRCVPR08Config, ScSRCVPR08Model


def _matlab_to_rowmajor(rows, patch, maps):
    """Row permutation taking MATLAB's column-major (r, c, f) patch vectors to our
    (f, r, c) row-major ones: ours[f*p*p + r*p + c] = matlab[r + p*c + p*p*f]."""
    f, r, c = np.meshgrid(np.arange(maps), np.arange(patch), np.arange(patch), indexing="ij")
    return rows[(r + patch * c + patch * patch * f).ravel()]


def _read(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist")
    try:
        mat = scipy.io.loadmat(path)
    except NotImplementedError as err:   # scipy's message for v7.3 files
        raise ValueError(f"{path}: a MATLAB v7.3 (HDF5) file; save it with -v7 ({err})") from err
    except Exception as err:             # scipy raises several types for non-.mat input
        raise ValueError(f"{path}: not a readable MATLAB .mat file ({err})") from err
    missing = [k for k in ("Dh", "Dl") if k not in mat]
    if missing:
        raise ValueError(f"{path}: not an ScSR dictionary file, missing {missing}")
    Dh, Dl = (np.asarray(mat[k], np.float64) for k in ("Dh", "Dl"))
    if Dh.ndim != 2 or Dl.ndim != 2 or Dh.shape[1] != Dl.shape[1]:
        raise ValueError(f"{path}: Dh {Dh.shape} and Dl {Dl.shape} are not two dictionaries "
                         f"with the same number of atoms (columns)")
    if not (np.isfinite(Dh).all() and np.isfinite(Dl).all()):
        raise ValueError(f"{path}: Dh or Dl holds NaN or Inf")
    return Dh, Dl


def scsr_from_mat(path, scale):
    """A TIP-2010 ScSR model from a D_<K>_<lambda>_<patch>.mat file. The file does not say
    its scale (the shipped one is x2), so the caller must."""
    Dh, Dl = _read(path)
    p = int(round(np.sqrt(Dh.shape[0])))
    if p * p != Dh.shape[0] or Dl.shape[0] != 4 * p * p:
        raise ValueError(f"{path}: Dh {Dh.shape} / Dl {Dl.shape} are not p^2 / 4 p^2 rows "
                         f"(a TIP ScSR dictionary)")
    if int(scale) not in (2, 3, 4):
        raise ValueError(f"scale must be 2, 3 or 4, not {scale}")
    config = ScSRConfig(scale=int(scale), n_atoms=Dh.shape[1], patch=p)
    return ScSRModel(config, _matlab_to_rowmajor(Dh, p, 1), _matlab_to_rowmajor(Dl, p, 4),
                     source=str(path))


def scsr_cvpr08_from_mat(path, scale=None):
    """A CVPR-08 ScSR model from its Dictionary.mat; the scale follows from Dh's rows
    ((3 scale)^2 for 3x3 LR patches) and must agree with ``scale`` if given."""
    Dh, Dl = _read(path)
    patch = ScSRCVPR08Config().patch
    side = int(round(np.sqrt(Dh.shape[0])))
    if side * side != Dh.shape[0] or side % patch or Dl.shape[0] != 4 * (LZ * patch) ** 2:
        raise ValueError(f"{path}: Dh {Dh.shape} / Dl {Dl.shape} are not ((3 s)^2, K) / "
                         f"(144, K) (a CVPR-08 ScSR dictionary for 3x3 LR patches)")
    found = side // patch
    if scale is not None and int(scale) != found:
        raise ValueError(f"{path}: Dh has {side}x{side} HR patches, a x{found} dictionary, "
                         f"not x{scale}")
    config = ScSRCVPR08Config(scale=found, n_atoms=Dh.shape[1])
    return ScSRCVPR08Model(config, Dh, Dl, source=str(path))


__all__ = ["scsr_from_mat", "scsr_cvpr08_from_mat"]
