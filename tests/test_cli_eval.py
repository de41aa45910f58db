import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinysr import evaluate as ev
from tinysr.cli import main

DATA = os.environ.get("TINYSR_DATA")


@pytest.fixture
def tiny_set(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    x = np.linspace(0, 1, 48)
    base = np.outer(np.sin(6 * x), np.cos(4 * x))
    for i in range(2):
        img = ((base[..., None] * [1, 0.5, -0.7] + 1) * 120 + 5 * i).astype(np.uint8)
        Image.fromarray(img).save(folder / f"img{i}.png")
    return folder


def test_eval_prints_table_and_writes_csv(tiny_set, tmp_path, capsys):
    out_csv = tmp_path / "r.csv"
    assert main(["eval", "--sets", str(tiny_set), "--scales", "2", "3", "--per-image", "--csv", str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert "protocol matlab-y: x2" in text and "shave 3" in text and "img1" in text and "mean" in text
    rows = list(csv.DictReader(out_csv.open()))
    assert tuple(rows[0]) == ev.CSV_COLUMNS
    assert [(r["scale"], r["image"]) for r in rows] == [("2", "img0"), ("2", "img1"), ("2", "mean"),
                                                        ("3", "img0"), ("3", "img1"), ("3", "mean")]
    mean = np.mean([float(r["psnr"]) for r in rows[:2]])
    assert float(rows[2]["psnr"]) == pytest.approx(mean) and rows[0]["method"] == "bicubic"


def test_methods_plug_in_with_one_line(tiny_set, monkeypatch, capsys):
    monkeypatch.setitem(ev.METHODS, "oracle-ilr", lambda scale, **o: (lambda lr, ilr, s: ilr))
    main(["eval", "--method", "oracle-ilr", "--sets", str(tiny_set), "--scales", "2"])
    assert "oracle-ilr" in capsys.readouterr().out
    assert main(["eval", "--method", "nope", "--sets", str(tiny_set)]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_identical_output_reports_inf(tiny_set):
    cheat = {}

    def oracle(lr, ilr, scale):  # returns the HR the evaluator will score against
        return cheat["hr"]

    from tinysr.data import load_dataset, make_pair, y_channel
    name, img = next(iter(load_dataset(str(tiny_set))))
    cheat["hr"] = make_pair(y_channel(img), 2)[2]
    res = ev.evaluate(oracle, [str(tiny_set)], [2])
    assert res.rows[0]["psnr"] == float("inf") and "inf" in res.table(per_image=True)


def test_model_checkpoint_errors_name_the_file(tiny_set, tmp_path, capsys):
    import tinysr
    assert main(["eval", "--model", str(tmp_path / "missing.npz"), "--sets", str(tiny_set), "--scales", "2"]) == 1
    assert "missing.npz: no such checkpoint" in capsys.readouterr().err
    tinysr.save({"w": np.ones(2)}, tmp_path / "notamodel.npz")
    assert main(["eval", "--model", str(tmp_path / "notamodel.npz"), "--sets", str(tiny_set), "--scales", "2"]) == 1
    assert "notamodel.npz: a tinysr checkpoint, but not of a model" in capsys.readouterr().err


def test_python_m_tinysr_runs():
    root = Path(__file__).parents[1]
    out = subprocess.run([sys.executable, "-m", "tinysr", "eval", "--help"], cwd=root,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--per-image" in out.stdout


@pytest.mark.skipif(not (DATA and Path(DATA, "Set5").is_dir()), reason="TINYSR_DATA has no Set5")
def test_eval_set5_x3_from_cli(capsys):
    main(["eval", "--sets", "Set5", "--scales", "3", "--data", DATA])
    assert "30.39" in capsys.readouterr().out
