"""Yang's own ScSR dictionaries reproduce the published "SC" figures under the paper protocol:
the CVPR-08 program with yang_cvpr08_x3_Dictionary.mat gives Set5 x3 31.42 and Set14 x3 28.31
(the SRCNN and A+ papers' column). Needs the released weights (TINYSR_WEIGHTS) and the sets
(TINYSR_DATA); about 25 s on 2 cores."""
import os
from pathlib import Path

import pytest

from tinysr import evaluate as ev
from tinysr.cli import main


def _weights(relpath):
    root = os.environ.get("TINYSR_WEIGHTS")
    if not root:
        pytest.skip(f"needs the authors' released files ({relpath}); set TINYSR_WEIGHTS=/path/to/weights")
    path = Path(root) / relpath
    if not path.is_file():
        pytest.skip(f"TINYSR_WEIGHTS={root} has no {relpath}")
    return path


def test_yang_cvpr08_dictionary_gives_the_published_sc_rows(tmp_path):
    from tinysr.data import DatasetNotFound, load_dataset
    source = _weights("scsr/yang_cvpr08_x3_Dictionary.mat")
    try:
        for name in ("Set5", "Set14"):
            load_dataset(name, fallback=False)
    except DatasetNotFound as err:
        pytest.skip(f"{err}")
    model = tmp_path / "yang_x3.npz"
    assert main(["import-weights", "scsr-cvpr08", str(source), str(model)]) == 0
    results = ev.evaluate(ev.upscaler_from_checkpoint(str(model), 3), ["Set5", "Set14"], [3])
    assert results.mean("Set5", 3)["psnr"] == pytest.approx(31.42, abs=0.02)
    assert results.mean("Set14", 3)["psnr"] == pytest.approx(28.31, abs=0.02)
