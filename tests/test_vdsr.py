"""VDSR: the model, the authors' MatConvNet file imported, one file for every scale."""
import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy import ndimage

import tinysr
from tinysr import cli
from tinysr.models import VDSR
from tinysr.models.registry import load_model
from tinysr.models.vdsr_matlab import vdsr_from_mat
from tinysr.tensor import tensor


def _cell(arrays):
    cell = np.empty((1, len(arrays)), dtype=object)
    for i, a in enumerate(arrays):
        cell[0, i] = a
    return cell


def _matconvnet_file(path, depth=4, width=5, seed=0, last_as_3d=True, bias_rows=True):
    """A VDSR_Official.mat-like file: struct model.weight / model.bias, 1 x depth cells,
    F(row, col, in, out); MATLAB's dropped trailing singleton on the last filter."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 3, 1, width)] + [(3, 3, width, width)] * (depth - 2) + [(3, 3, width, 1)]
    weights = [rng.normal(0, 0.2, s) for s in shapes]
    biases = [rng.normal(0, 0.05, (s[3], 1) if bias_rows else (1, s[3])) for s in shapes]
    stored = list(weights)
    if last_as_3d:
        stored[-1] = stored[-1][..., 0]
    scipy.io.savemat(path, {"model": {"weight": _cell(stored), "bias": _cell(biases)}})
    return weights, biases


def _vl_nnconv_forward(weights, biases, x):
    """The released model's forward pass, written from its description: each layer a
    zero-padded correlation (vl_nnconv, pad 1), ReLU after all but the last, plus the input."""
    h = [x]
    for i, (w, b) in enumerate(zip(weights, biases)):
        out = [sum(ndimage.correlate(h[c], w[:, :, c, o], mode="constant") for c in range(w.shape[2]))
               + b.ravel()[o] for o in range(w.shape[3])]
        h = [np.maximum(o, 0) for o in out] if i < len(weights) - 1 else out
    return x + h[0]


@pytest.mark.parametrize("last_as_3d, bias_rows", [(True, True), (True, False), (False, True)])
def test_import_matches_the_matconvnet_forward_pass(tmp_path, last_as_3d, bias_rows):
    path = tmp_path / "VDSR_Official.mat"
    weights, biases = _matconvnet_file(path, last_as_3d=last_as_3d, bias_rows=bias_rows)
    model = vdsr_from_mat(path, dtype="float64")
    assert model.config == {"depth": 4, "width": 5} and model.receptive_radius == 4
    x = np.random.default_rng(1).uniform(0.1, 0.9, (17, 14))
    ours = model(tinysr.tensor(x[None, None], dtype="float64")).numpy()[0, 0]
    np.testing.assert_allclose(ours, _vl_nnconv_forward(weights, biases, x), atol=1e-10)
    clamped = model.infer(tinysr.tensor(x[None, None], dtype="float64")).numpy()[0, 0]
    np.testing.assert_allclose(clamped, _vl_nnconv_forward(weights, biases, np.clip(x, 16 / 255, 235 / 255)),
                               atol=1e-10)


def test_malformed_files_say_what_is_wrong(tmp_path):
    cases = {
        "nostruct.mat": ({"weights": np.ones(3)}, "no struct 'model'"),
        "count.mat": ({"model": {"weight": _cell([np.ones((3, 3, 1, 2))] * 3),
                                 "bias": _cell([np.ones(2)] * 2)}}, "3 weights and 2 biases"),
        "shape.mat": ({"model": {"weight": _cell([np.ones((3, 3, 1, 2)), np.ones((3, 3, 4, 2)), np.ones((3, 3, 2))]),
                                 "bias": _cell([np.ones(2), np.ones(2), np.ones(1)])}}, r"weight\{2\}.*3x3x2x2"),
        "bias.mat": ({"model": {"weight": _cell([np.ones((3, 3, 1, 2)), np.ones((3, 3, 2, 2)), np.ones((3, 3, 2))]),
                                "bias": _cell([np.ones(2), np.ones(3), np.ones(1)])}}, r"bias\{2\} has 3 values"),
        "even.mat": ({"model": {"weight": _cell([np.ones((2, 2, 1, 2))] * 3),
                                "bias": _cell([np.ones(2)] * 3)}}, "k odd"),
    }
    for name, (content, message) in cases.items():
        scipy.io.savemat(tmp_path / name, content)
        with pytest.raises(ValueError, match=f"{name}.*{message}"):
            vdsr_from_mat(tmp_path / name)
    (tmp_path / "text.mat").write_text("no")
    with pytest.raises(ValueError, match="text.mat: not a readable MATLAB"):
        vdsr_from_mat(tmp_path / "text.mat")


def test_one_file_evaluates_and_upscales_at_every_scale(tmp_path, capsys):
    src = tmp_path / "VDSR_Official.mat"
    _matconvnet_file(src, depth=3, width=4)
    out = tmp_path / "vdsr.npz"
    assert cli.main(["import-weights", "vdsr", str(src), str(out)]) == 0
    model, meta = load_model(out)
    assert meta["scale"] == [2, 3, 4] and isinstance(model, VDSR)
    folder = tmp_path / "set"
    folder.mkdir()
    x = np.linspace(0, 1, 36)
    img = ((np.outer(np.sin(5 * x), np.cos(3 * x))[..., None] * [1, 0.6, -0.5] + 1) * 110).astype(np.uint8)
    Image.fromarray(img).save(folder / "a.png")
    capsys.readouterr()
    assert cli.main(["eval", "--model", str(out), "--sets", str(folder), "--scales", "2", "3", "4"]) == 0
    captured = capsys.readouterr()
    assert all(f"x{s} mean" in captured.out for s in (2, 3, 4)) and "warning" not in captured.err
    for scale in (2, 3, 4):
        png = tmp_path / f"up{scale}.png"
        assert cli.main(["upscale", str(folder / "a.png"), str(png), "--model", str(out), "--scale", str(scale)]) == 0
        assert Image.open(png).size == (36 * scale, 36 * scale)
    assert cli.main(["upscale", str(folder / "a.png"), str(tmp_path / "u.png"), "--model", str(out)]) == 2
    assert "pass --scale" in capsys.readouterr().err


def test_tiling_is_exact_for_any_depth():
    for depth in (3, 7):
        model = VDSR(depth=depth, width=4, seed=depth)
        from tinysr.inference import super_resolve_y
        ilr = np.random.default_rng(0).random((45, 38))
        np.testing.assert_allclose(super_resolve_y(model, ilr, tile=16), super_resolve_y(model, ilr), atol=1e-5)


def test_smoke_a_depth_8_vdsr_beats_bicubic_at_x3(tmp_path, require_sets):
    """CI smoke: a depth-8 VDSR, 300 Adam steps on 8 T91 images (x2/x3/x4 mixed): Set5 x3
    at least 0.3 dB over bicubic, and x2, x4 over bicubic too. On the real data only."""
    from tinysr.training import vdsr
    require_sets("T91", "Set5")
    summary = vdsr.train(recipe="fast", depth=8, width=32, batch=16, epochs=2, max_steps=300, train_set="T91",
                         max_images=8, out=str(tmp_path), progress=False, device="cpu")
    scores, bicubic = summary["eval"], summary["bicubic"]
    assert summary["iterations"] == 300
    assert scores["x3"] >= bicubic[3] + 0.3, summary
    assert scores["x2"] > bicubic[2] and scores["x4"] > bicubic[4], summary
    for figure in ("loss.png", "psnr.png", "crop.png"):
        assert (tmp_path / figure).stat().st_size > 1000
    model, meta = load_model(summary["model_path"])
    assert meta["scale"] == [2, 3, 4] and model.config == {"depth": 8, "width": 32}


def test_patch_size_reaches_the_patch_grid_and_the_checkpoint(tmp_path, monkeypatch):
    """--patch sets PairPatches' side and stride and is recorded in the run's settings."""
    from PIL import Image
    from tinysr import checkpoint
    from tinysr.training import vdsr
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for k in range(2):
        Image.fromarray((rng.random((36, 48, 3)) * 255).astype(np.uint8)).save(images / f"{k}.png")
    seen = {}

    class Recording(vdsr.PairPatches):
        def __init__(self, source, scales, size=41, stride=41):
            seen.update(size=size, stride=stride)
            super().__init__(source, scales, size=size, stride=stride)
    monkeypatch.setattr(vdsr, "PairPatches", Recording)
    vdsr.train(depth=2, width=4, batch=2, epochs=1, max_steps=2, patch=12, train_set=str(images),
               test_set=str(images), out=str(tmp_path / "run"), progress=False, device="cpu")
    assert seen == {"size": 12, "stride": 12}
    meta = checkpoint.load(str(tmp_path / "run" / "checkpoint.npz"))["meta"]
    assert meta["settings"]["patch"] == 12


@pytest.mark.parametrize("loss_name", ["mse", "l1"])
def test_the_fast_step_minimises_the_named_loss_and_reports_the_mse(loss_name):
    """--loss l1: the objective is mean |f(x) - y| (the last bias's gradient is the mean sign of
    the error); the reported "mse" is the per-pixel squared error either way."""
    from tinysr import optim
    from tinysr.models import VDSR
    from tinysr.training.vdsr import vdsr_step
    rng = np.random.default_rng(3)
    model = VDSR(depth=3, width=4, seed=1)
    x = rng.random((2, 1, 9, 11), dtype=np.float32)
    y = rng.random((2, 1, 9, 11), dtype=np.float32)
    err = model(tensor(x)).numpy() - y
    optimizer = optim.SGD(model.parameters(), lr=0.0)
    out = vdsr_step(model, optimizer, "fast", "cpu", "none", 0.01, loss_name)((x, y))
    np.testing.assert_allclose(out["mse"], np.mean(err ** 2), rtol=1e-5)
    expected_loss = np.mean(np.abs(err)) if loss_name == "l1" else np.mean(err ** 2)
    expected_bias_grad = np.mean(np.sign(err)) if loss_name == "l1" else np.mean(2 * err)
    np.testing.assert_allclose(out["loss"], expected_loss, rtol=1e-5)
    np.testing.assert_allclose(model.convs[-1].bias.grad.numpy().ravel(), [expected_bias_grad], rtol=1e-4, atol=1e-7)


def test_the_sweep_gives_every_variant_the_same_patch_pixels_and_reuses_finished_runs(tmp_path, require_sets,
                                                                                       monkeypatch):
    """examples/vdsr_sweep.py: smaller batches get more epochs, larger patches fewer (the same
    pixels each); end to end on a tiny budget, one row per variant; a second call retrains nothing."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "vdsr_sweep", Path(__file__).resolve().parents[1] / "examples" / "vdsr_sweep.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert [script.epochs_for(script.VARIANTS[n], 5) for n in ("baseline", "l1", "batch16", "patch64")] == [5, 5, 10, 5]
    assert script.epochs_for({"batch": 64}, 5) == 2 and script.epochs_for({"batch": 64}, 1) == 1
    require_sets("T91", "BSD200", "Set5")
    args = ["--epochs", "1", "--only", "baseline", "patch64", "--max-steps", "2", "--max-images", "2",
            "--out", str(tmp_path)]
    assert script.main(args) == 0
    table = (tmp_path / "sweep.md").read_text()
    assert "| baseline | - | 2 |" in table and "| patch64 | patch 64, batch 13 | 2 |" in table
    assert (tmp_path / "sweep.png").stat().st_size > 1000
    monkeypatch.setattr(script, "train", lambda **kw: (_ for _ in ()).throw(AssertionError("retrained")))
    assert script.main(args) == 0
