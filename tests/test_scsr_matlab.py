"""Importing Yang et al.'s ScSR dictionaries (.mat): layouts, scale checks, bad files, and
the imported model evaluating through `tinysr eval --model`."""
import re

import numpy as np
import pytest
import scipy.io
from PIL import Image

from tinysr import checkpoint
from tinysr.classic import scsr, scsr_cvpr08
from tinysr.classic.scsr_matlab import scsr_cvpr08_from_mat, scsr_from_mat
from tinysr.cli import main


def _as_matlab_tip(model):
    """Our row-major (f, r, c) dictionary written the way ScSR.m's data is laid out:
    Hpatch(:) and mPatchFea(:) of a p x p x 4 block, i.e. column-major (r, c, f)."""
    p = model.config.patch
    K = model.Dh.shape[1]
    Dh = np.stack([model.Dh[:, k].reshape(p, p).flatten(order="F") for k in range(K)], axis=1)
    Dl = np.stack([model.Dl[:, k].reshape(4, p, p).transpose(1, 2, 0).flatten(order="F")
                   for k in range(K)], axis=1)
    return Dh, Dl


@pytest.fixture(scope="module")
def tiny_tip(tiny_scsr_model):
    return tiny_scsr_model


def test_tip_dictionary_reordered_from_matlab_layout(tiny_tip, tmp_path):
    Dh, Dl = _as_matlab_tip(tiny_tip)
    assert not np.array_equal(Dh, tiny_tip.Dh)               # the layouts really differ
    path = tmp_path / "D_32_0.15_5.mat"
    scipy.io.savemat(path, {"Dh": Dh, "Dl": Dl})
    m = scsr_from_mat(str(path), 2)
    np.testing.assert_array_equal(m.Dh, tiny_tip.Dh)
    np.testing.assert_array_equal(m.Dl, tiny_tip.Dl)
    assert m.config.n_atoms == 32 and m.config.patch == 5 and m.source == str(path)
    m.save(tmp_path / "d.npz")
    back = scsr.ScSRModel.load(tmp_path / "d.npz")
    assert back.source == str(path) and back.config == m.config


def test_cvpr08_dictionary_kept_as_is_and_scale_from_shape(tmp_path):
    rng = np.random.default_rng(0)
    Dh, Dl = rng.standard_normal((81, 16)), rng.standard_normal((144, 16))
    path = tmp_path / "Dictionary.mat"
    scipy.io.savemat(path, {"Dh": Dh, "Dl": Dl})
    m = scsr_cvpr08_from_mat(str(path))
    assert isinstance(m, scsr_cvpr08.ScSRCVPR08Model) and m.config.scale == 3
    np.testing.assert_array_equal(m.Dh, Dh)
    np.testing.assert_array_equal(m.Dl, Dl)
    with pytest.raises(ValueError, match="x3 dictionary, not x2"):
        scsr_cvpr08_from_mat(str(path), 2)
    scipy.io.savemat(tmp_path / "x4.mat", {"Dh": rng.standard_normal((144, 16)), "Dl": Dl})
    assert scsr_cvpr08_from_mat(str(tmp_path / "x4.mat")).config.scale == 4


def test_bad_dictionary_files(tmp_path):
    rng = np.random.default_rng(0)
    cases = {
        "text.mat": None,
        "nodl.mat": {"Dh": rng.standard_normal((25, 8))},
        "atoms.mat": {"Dh": rng.standard_normal((25, 8)), "Dl": rng.standard_normal((100, 9))},
        "shape.mat": {"Dh": rng.standard_normal((24, 8)), "Dl": rng.standard_normal((100, 8))},
        "nan.mat": {"Dh": np.full((25, 8), np.nan), "Dl": rng.standard_normal((100, 8))},
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is None:
            path.write_text("not a MATLAB file")
        else:
            scipy.io.savemat(path, content)
    with pytest.raises(ValueError, match="not a readable MATLAB"):
        scsr_from_mat(str(tmp_path / "text.mat"), 2)
    with pytest.raises(ValueError, match=r"missing \['Dl'\]"):
        scsr_from_mat(str(tmp_path / "nodl.mat"), 2)
    with pytest.raises(ValueError, match="same number of atoms"):
        scsr_from_mat(str(tmp_path / "atoms.mat"), 2)
    with pytest.raises(ValueError, match="a TIP ScSR dictionary"):
        scsr_from_mat(str(tmp_path / "shape.mat"), 2)
    with pytest.raises(ValueError, match="NaN or Inf"):
        scsr_from_mat(str(tmp_path / "nan.mat"), 2)
    with pytest.raises(ValueError, match="a CVPR-08 ScSR dictionary"):
        scsr_cvpr08_from_mat(str(tmp_path / "shape.mat"))
    with pytest.raises(FileNotFoundError):
        scsr_from_mat(str(tmp_path / "absent.mat"), 2)


def test_matlab_v73_file_names_the_fix(tmp_path):
    # A v7.3 file is HDF5 behind MATLAB's 128-byte header (version 0x0200); scipy
    # refuses it, and the user should learn to re-save with -v7, not "unreadable".
    header = b"MATLAB 7.3 MAT-file, HDF5 schema 1.00 .".ljust(116) + bytes(8) + b"\x00\x02IM"
    path = tmp_path / "v73.mat"
    path.write_bytes(header + bytes(512))
    with pytest.raises(ValueError, match=r"v7\.3 \(HDF5\) file; save it with -v7"):
        scsr_from_mat(str(path), 2)


def test_cli_import_then_eval_with_model(tiny_tip, tmp_path, capsys):
    Dh, Dl = _as_matlab_tip(tiny_tip)
    src = tmp_path / "D_32_0.15_5.mat"
    scipy.io.savemat(src, {"Dh": Dh, "Dl": Dl})
    out = tmp_path / "scsr_x2.npz"
    assert main(["import-weights", "scsr", str(src), str(out)]) == 2
    assert "pass --scale" in capsys.readouterr().err
    assert main(["import-weights", "scsr", str(src), str(out), "--scale", "2"]) == 0
    assert "32 atoms, x2" in capsys.readouterr().out
    folder = tmp_path / "set"
    folder.mkdir()
    x = np.linspace(0, 1, 36)
    img = ((np.outer(np.sin(5 * x), np.cos(3 * x))[..., None] * [1, 0.6, -0.5] + 1) * 110).astype(np.uint8)
    Image.fromarray(img).save(folder / "a.png")
    assert main(["eval", "--model", str(out), "--sets", str(folder), "--scales", "2"]) == 0
    assert "x2 mean" in capsys.readouterr().out
    # the imported file scores exactly as the dictionary it was written from
    from tinysr import evaluate as ev
    got = ev.evaluate(ev.upscaler_from_checkpoint(str(out), 2), [str(folder)], [2]).means()
    want = ev.evaluate(lambda lr, ilr, s: scsr.upscale(tiny_tip, lr), [str(folder)], [2]).means()
    assert got[0]["psnr"] == want[0]["psnr"] and got[0]["psnr"] > 20
    assert main(["eval", "--model", str(out), "--sets", str(folder), "--scales", "3"]) == 2
    assert re.search("x2 scsr model; it cannot upscale x3; .*--model .* --scale 3", capsys.readouterr().err)
    png = tmp_path / "up.png"
    assert main(["upscale", str(folder / "a.png"), str(png), "--model", str(out)]) == 0
    assert Image.open(png).size == (72, 72)
    assert main(["upscale", str(folder / "a.png"), str(png), "--model", str(out), "--scale", "3"]) == 2
    assert re.search("x2 scsr model; it cannot upscale x3; .*--model .* --scale 3", capsys.readouterr().err)
    assert main(["import-weights", "scsr-cvpr08", str(out), str(tmp_path / "o.npz")]) == 1
    assert "not a readable MATLAB" in capsys.readouterr().err
    assert checkpoint.load(out)["method"] == "scsr"
