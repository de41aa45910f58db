"""DRCN: shared recursive weights, recursive supervision's outputs, the ensemble."""
import numpy as np

import tinysr
from tinysr import functional as F
from tinysr.models import DRCN
from tinysr.testing import gradcheck


def _small(seed=0):
    model = DRCN(width=4, recursions=3, seed=seed).to(dtype="float64")
    rng = np.random.default_rng(seed + 1)
    for p in model.parameters():          # off the identity start, so every path carries gradient
        p.data = p.data + rng.normal(0, 0.1, p.shape)
    return model


def test_shapes_ensemble_and_receptive_radius():
    model = _small()
    x = tinysr.tensor(np.random.default_rng(0).random((2, 1, 9, 8)), dtype="float64")
    out, each = model.outputs(x)
    assert out.shape == (2, 1, 9, 8) and len(each) == 3 and all(y.shape == out.shape for y in each)
    w = model.ensemble_weights().numpy()
    assert np.isclose(w.sum(), 1.0)
    mixed = x.numpy() + sum(wd * (y.numpy() - x.numpy()) for wd, y in zip(w, each))
    np.testing.assert_allclose(out.numpy(), mixed, atol=1e-12)
    assert model.receptive_radius == 7 and DRCN(width=2, recursions=16).receptive_radius == 20


def test_recursive_weights_start_as_identity():
    w = DRCN(width=5, recursions=2).recursive.weight.numpy()
    expected = np.zeros_like(w)
    for c in range(5):
        expected[c, c, 1, 1] = 1
    np.testing.assert_array_equal(w, expected)


def test_gradient_of_the_whole_network_float64():
    """Finite differences against backward for every parameter, the ensemble weights included,
    through the loss recursive supervision uses (l1 of the intermediates plus l2 of the ensemble)."""
    model = _small(3)
    rng = np.random.default_rng(4)
    x = tinysr.tensor(rng.random((1, 1, 6, 5)), dtype="float64")
    y = tinysr.tensor(rng.random((1, 1, 6, 5)), dtype="float64")

    def loss(*params):
        out, each = model.outputs(x)
        l1 = sum(F.mse_loss(p, y) for p in each) * (1.0 / len(each))
        return l1 * 0.3 + F.mse_loss(out, y) * 0.7
    gradcheck(loss, model.parameters())


def test_shared_weight_gradient_is_the_sum_over_recursions():
    """Unroll the recursion with one separate copy of W per step: the shared W's gradient
    equals the sum of the copies' gradients."""
    model = _small(5)
    rng = np.random.default_rng(6)
    x = tinysr.tensor(rng.random((2, 1, 7, 6)), dtype="float64")
    y = tinysr.tensor(rng.random((2, 1, 7, 6)), dtype="float64")
    F.mse_loss(model(x), y).backward()
    shared_w, shared_b = model.recursive.weight.grad.numpy(), model.recursive.bias.grad.numpy()

    copies = [(tinysr.tensor(model.recursive.weight.numpy(), requires_grad=True, dtype="float64"),
               tinysr.tensor(model.recursive.bias.numpy(), requires_grad=True, dtype="float64"))
              for _ in range(3)]
    h = F.bias_act(F.conv2d(x, model.embed1.weight, None, 1, 1), model.embed1.bias, "relu")
    h = F.bias_act(F.conv2d(h, model.embed2.weight, None, 1, 1), model.embed2.bias, "relu")
    weights, mixed = model.ensemble_weights(), None
    for d, (w, b) in enumerate(copies):
        h = F.bias_act(F.conv2d(h, w, None, 1, 1), b, "relu")
        g = F.bias_act(F.conv2d(h, model.recon1.weight, None, 1, 1), model.recon1.bias, "relu")
        term = F.conv2d(g, model.recon2.weight, model.recon2.bias, 1, 1) * weights[d]
        mixed = term if mixed is None else mixed + term
    F.mse_loss(x + mixed, y).backward()
    per_step = [w.grad.numpy() for w, _ in copies]
    assert all(np.abs(g).max() > 1e-8 for g in per_step)               # each recursion contributes
    np.testing.assert_allclose(sum(per_step), shared_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sum(b.grad.numpy() for _, b in copies), shared_b, rtol=1e-10, atol=1e-12)


def test_smoke_a_small_drcn_beats_bicubic_at_x3(tmp_path, require_sets):
    """CI smoke: width 16, 3 recursions, 400 Adam steps on 10 T91 images with recursive
    supervision: Set5 x3 at least 0.3 dB over bicubic. On the real data only."""
    from tinysr.training import drcn
    require_sets("T91", "Set5")
    summary = drcn.train(recipe="fast", width=16, recursions=3, batch=16, epochs=2, max_steps=400, max_images=10,
                         alpha_epochs=1, out=str(tmp_path), progress=False, device="cpu")
    assert summary["iterations"] == 400
    assert summary["psnr"] >= summary["bicubic"] + 0.3, summary
    assert len(summary["recursion_psnr"]) == 3
    for figure in ("loss.png", "l1_l2.png", "psnr.png", "crop.png", "recursions.png"):
        assert (tmp_path / figure).stat().st_size > 1000


def test_augment_trains_on_the_eight_flips_and_rotations_of_each_patch(tmp_path, require_sets, capsys):
    """--augment multiplies the training patches by 8 (the recipes keep it off, as the paper)."""
    import re
    from tinysr.training import drcn
    require_sets("T91", "Set5")
    counts = []
    for augment in (False, True):
        drcn.train(recipe="fast", width=4, recursions=1, epochs=1, max_steps=1, max_images=1, augment=augment,
                   out=str(tmp_path / str(augment)), progress=False, device="cpu")
        counts.append(int(re.search(r"(\d+) patches from 1 T91 images", capsys.readouterr().out).group(1)))
    assert counts[1] == 8 * counts[0] > 0
    assert not drcn.RECIPES["fast"]["augment"] and not drcn.RECIPES["paper"]["augment"]


def test_alpha_falls_linearly_and_zero_epochs_turns_supervision_off():
    """alpha = 1 - (fractional epoch) / alpha_epochs, floored at 0; alpha_epochs = 0 (the
    supervision-off ablation, `--alpha-epochs 0`) is alpha = 0 from the first batch."""
    from tinysr.training.drcn import with_alpha

    def batches(epoch):                      # 2 batches of 2 samples per epoch
        return iter([(np.zeros((2, 1)), np.zeros((2, 1)))] * 2), 4

    alphas = lambda n_epochs, epoch: [a for _, _, a in with_alpha(batches, n_epochs)(epoch)[0]]  # noqa: E731
    assert alphas(2, 0) == [1.0, 0.75]
    assert alphas(2, 1) == [0.5, 0.25]
    assert alphas(2, 3) == [0.0, 0.0]
    assert alphas(0, 0) == [0.0, 0.0]


def test_l1_loss_option_puts_the_mean_absolute_error_in_both_terms():
    """drcn_step(loss_name="l1"): l1 and l2 are half_sum x the mean |error| of the intermediate
    predictions (averaged) and of the ensemble, checked against NumPy on a small DRCN."""
    from tinysr import optim
    from tinysr.training.drcn import drcn_step
    model = _small().to(dtype="float32")
    rng = np.random.default_rng(3)
    x = rng.random((2, 1, 7, 7), dtype=np.float32)
    y = rng.random((2, 1, 7, 7), dtype=np.float32)
    out, each = model.outputs(tinysr.tensor(x))
    want_l1 = np.mean([np.abs(p.numpy() - y).mean() for p in each]) * 0.5 * 49
    want_l2 = np.abs(out.numpy() - y).mean() * 0.5 * 49
    got = drcn_step(model, optim.SGD(model.parameters(), lr=0.0), "cpu", "l1")((x, y, 0.25))
    np.testing.assert_allclose([got["l1"], got["l2"]], [want_l1, want_l2], rtol=1e-5)
    np.testing.assert_allclose(got["loss"], 0.25 * want_l1 + 0.75 * want_l2, rtol=1e-5)
    mse = drcn_step(model, optim.SGD(model.parameters(), lr=0.0), "cpu")((x, y, 0.25))
    np.testing.assert_allclose(mse["l2"], ((out.numpy() - y) ** 2).mean() * 0.5 * 49, rtol=1e-5)


def test_recipe_options_are_checked_by_name(tmp_path):
    import pytest
    from tinysr.errors import ArgumentError
    from tinysr.training import drcn
    for bad in (dict(loss="huber"), dict(schedule="linear")):
        with pytest.raises(ArgumentError, match=next(iter(bad))):
            drcn.train(out=str(tmp_path / "x"), **bad)


def test_ablation_script_runs_every_variant_and_reuses_finished_runs(tmp_path, require_sets, monkeypatch):
    """examples/drcn_ablations.py end to end on a tiny budget: supervision on/off at the
    chosen D and each other D, one table row per variant; a second call retrains nothing."""
    import importlib.util
    from pathlib import Path
    require_sets("T91", "Set5")
    spec = importlib.util.spec_from_file_location(
        "drcn_ablations", Path(__file__).resolve().parents[1] / "examples" / "drcn_ablations.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = ["--epochs", "1", "--chosen", "2", "--depths", "1", "2", "--width", "4", "--max-steps", "3",
            "--max-images", "2", "--out", str(tmp_path)]
    assert script.main(args) == 0
    table = (tmp_path / "ablations.md").read_text()
    for name in ("D2_supervised", "D2_unsupervised", "D1_supervised"):
        assert f"| {name} |" in table and (tmp_path / name / "result.json").is_file()
    assert table.count("| D2_") == 2 and "| off |" in table
    assert (tmp_path / "ablations.png").stat().st_size > 1000
    monkeypatch.setattr(script, "train", lambda **kw: (_ for _ in ()).throw(AssertionError("retrained")))
    assert script.main(args) == 0
