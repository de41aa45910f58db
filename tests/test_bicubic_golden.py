"""Bicubic must reproduce the published baseline (VDSR Table 3 / SRCNN) to 0.01 dB."""
import os
from pathlib import Path

import pytest

from tinysr.evaluate import METHODS, evaluate, per_scale

DATA = os.environ.get("TINYSR_DATA")
pytestmark = pytest.mark.skipif(
    not (DATA and Path(DATA, "Set5").is_dir() and Path(DATA, "Set14").is_dir()),
    reason="set TINYSR_DATA to a folder holding Set5 and Set14 to run the golden bicubic test")

PUBLISHED = {  # (set, scale): (accepted PSNRs, SSIM or None)
    ("Set5", 2): ((33.66,), 0.9299), ("Set5", 3): ((30.39,), 0.8682), ("Set5", 4): ((28.42,), 0.8104),
    ("Set14", 2): ((30.23, 30.24), None), ("Set14", 3): ((27.54, 27.55), None), ("Set14", 4): ((26.00,), None),
}


@pytest.fixture(scope="module")
def results():
    return evaluate(per_scale(METHODS["bicubic"]), ["Set5", "Set14"], [2, 3, 4], root=DATA, method="bicubic")


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_bicubic_matches_published(results, key):
    psnrs, ssim = PUBLISHED[key]
    row = results.mean(*key)
    assert min(abs(row["psnr"] - p) for p in psnrs) <= 0.01, (key, row)
    if ssim is not None:
        assert abs(row["ssim"] - ssim) <= 0.0005, (key, row)
