"""SRCNN: geometry, tiled inference, the authors' MATLAB weights, the CLI, and training safety."""
import json

import numpy as np
import pytest
import scipy.io
from scipy import ndimage

import tinysr
from tinysr import cli
from tinysr.data import write_image
from tinysr.checkpoint import CheckpointError
from tinysr.inference import super_resolve_y, upscale_image
from tinysr.models import SRCNN
from tinysr.models.registry import load_model, model_state
from tinysr.models.srcnn_matlab import srcnn_from_mat
from tinysr.training.loop import TrainingDiverged, fit
from tinysr.training.sr_task import supervised_step


@pytest.mark.parametrize("variant, out", [((9, 1, 5), 21), ((9, 3, 5), 19), ((9, 5, 5), 17)])
def test_valid_training_geometry_and_full_size_inference(variant, out):
    f1, f2, f3 = variant
    model = SRCNN(f1, f2, f3, n1=8, n2=4)
    x = tinysr.tensor(np.random.default_rng(0).random((2, 1, 33, 33)))
    assert model(x).shape == (2, 1, out, out)
    assert model.infer(x).shape == (2, 1, 33, 33)
    assert SRCNN(extra_layers=2, n1=8, n2=4)(x).shape == (2, 1, 33 - 2 * (4 + 0 + 0 + 0 + 2), 33 - 12)


def test_tiled_inference_equals_untiled():
    model = SRCNN(9, 3, 5, n1=8, n2=4, init_std=0.1, seed=1)
    ilr = np.random.default_rng(2).random((70, 53))
    whole = super_resolve_y(model, ilr)
    tiled = super_resolve_y(model, ilr, tile=16)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def _matlab_forward(mat, im):
    """The authors' SRCNN.m, written independently from its description:
    imfilter(..., 'same', 'replicate') is a correlation with edge replication."""
    def imfilter(a, k):
        return ndimage.correlate(a, k, mode="nearest")
    w1, b1 = mat["weights_conv1"], mat["biases_conv1"]
    w2, b2 = mat["weights_conv2"], mat["biases_conv2"]
    w3, b3 = mat["weights_conv3"], mat["biases_conv3"]
    f1, f2, f3 = (int(round(np.sqrt(n))) for n in (w1.shape[0], w2.shape[1], w3.shape[1]))
    c1 = [np.maximum(imfilter(im, w1[:, i].reshape(f1, f1, order="F")) + b1[i, 0], 0)
          for i in range(w1.shape[1])]
    c2 = []
    for i in range(w2.shape[2]):
        acc = sum(imfilter(c1[j], w2[j, :, i].reshape(f2, f2, order="F")) for j in range(w2.shape[0]))
        c2.append(np.maximum(acc + b2[i, 0], 0))
    return sum(imfilter(c2[i], w3[i, :].reshape(f3, f3, order="F")) for i in range(w3.shape[0])) + b3[0, 0]


@pytest.mark.parametrize("f2", [1, 3])
def test_import_matlab_weights_matches_the_authors_forward_pass(tmp_path, f2):
    rng = np.random.default_rng(f2)
    n1, n2, f1, f3 = 6, 4, 9, 5
    mat = {"weights_conv1": rng.normal(0, 0.1, (f1 * f1, n1)), "biases_conv1": rng.normal(0, 0.1, (n1, 1)),
           "weights_conv2": rng.normal(0, 0.1, (n1, f2 * f2, n2)), "biases_conv2": rng.normal(0, 0.1, (n2, 1)),
           "weights_conv3": rng.normal(0, 0.1, (n2, f3 * f3)), "biases_conv3": rng.normal(0, 0.1, (1, 1))}
    path = tmp_path / "x3.mat"
    scipy.io.savemat(path, mat)
    model = srcnn_from_mat(path, dtype="float64")
    im = rng.random((23, 19))
    ours = model.infer(tinysr.tensor(im[None, None], dtype="float64")).numpy()[0, 0]
    np.testing.assert_allclose(ours, _matlab_forward(scipy.io.loadmat(path), im), atol=1e-10)

    out = tmp_path / "srcnn_x3.npz"
    assert cli.main(["import-weights", "srcnn", str(path), str(out)]) == 0
    loaded, meta = load_model(out)
    assert meta["scale"] == 3 and loaded.config["f2"] == f2


def test_import_rejects_a_foreign_mat(tmp_path):
    path = tmp_path / "x2.mat"
    scipy.io.savemat(path, {"something": np.ones(3)})
    with pytest.raises(ValueError, match="x2.mat.*missing"):
        srcnn_from_mat(path)


def _tiny_model_file(tmp_path, scale=3):
    model = SRCNN(5, 1, 3, n1=4, n2=2, init_std=0.1)
    path = tmp_path / "tiny.npz"
    tinysr.save(model_state(model, scale), path)
    return model, path


def test_upscale_cli_on_rgb_and_grey(tmp_path):
    model, path = _tiny_model_file(tmp_path)
    rng = np.random.default_rng(0)
    rgb, grey = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), rng.integers(0, 256, (9, 7), dtype=np.uint8)
    write_image(tmp_path / "rgb.png", rgb)
    write_image(tmp_path / "grey.png", grey)
    assert cli.main(["upscale", str(tmp_path / "rgb.png"), str(tmp_path / "out.png"), "--model", str(path)]) == 0
    assert cli.main(["upscale", str(tmp_path / "grey.png"), str(tmp_path / "outg.png"), "--model", str(path),
                     "--tile", "8"]) == 0
    from tinysr.data import read_image
    assert read_image(tmp_path / "out.png").shape == (36, 30, 3)
    assert read_image(tmp_path / "outg.png").shape == (27, 21)
    assert cli.main(["upscale", str(tmp_path / "grey.png"), str(tmp_path / "b.png"), "--method", "bicubic",
                     "--scale", "2"]) == 0
    np.testing.assert_array_equal(upscale_image(model, grey, 3, tile=8), upscale_image(model, grey, 3))


def test_eval_cli_with_a_model_checkpoint(tmp_path, capsys):
    _, path = _tiny_model_file(tmp_path)
    folder = tmp_path / "imgs"
    folder.mkdir()
    write_image(folder / "a.png", np.random.default_rng(1).integers(0, 256, (30, 27, 3), dtype=np.uint8))
    assert cli.main(["eval", "--model", str(path), "--sets", str(folder), "--scales", "3"]) == 0
    assert "protocol" in capsys.readouterr().out


def _toy_training(tmp_path, lr, epochs=2, resume=False, poison_from=None, ema_decay=None,
                  max_seconds=None, stop_mid_epoch=False):
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 15, 15)).astype(np.float32)
    y = x[:, :, 3:-3, 3:-3].copy()
    model = SRCNN(5, 1, 3, n1=4, n2=2, init_std=0.1)
    opt = tinysr.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def batches(epoch):
        order = np.random.default_rng((0, epoch)).permutation(16)
        bad = poison_from is not None and epoch >= poison_from   # a corrupt input: NaN pixels
        return ((x[order[i:i + 4]] + (np.nan if bad and i == 8 else 0), y[order[i:i + 4]])
                for i in range(0, 16, 4)), 16
    loss = lambda m, a, b: tinysr.functional.mse_loss(m(a), b)
    ema = tinysr.optim.EMA(model, ema_decay) if ema_decay else None
    fit(supervised_step(model, opt, loss, "cpu"), batches, modules={"model": model}, optimizers={"model": opt},
        averages={"model": ema} if ema else {}, epochs=epochs, out_dir=tmp_path, meta={"model": "srcnn"},
        resume=resume, progress=False, max_seconds=max_seconds, stop_mid_epoch=stop_mid_epoch)
    return (model, ema) if ema else model


def test_resume_continues_exactly(tmp_path):
    straight = _toy_training(tmp_path / "a", 0.05, epochs=3)
    _toy_training(tmp_path / "b", 0.05, epochs=1)
    resumed = _toy_training(tmp_path / "b", 0.05, epochs=3, resume=True)
    for (n, a), (_, b) in zip(straight.named_parameters(), resumed.named_parameters()):
        assert np.array_equal(a.numpy(), b.numpy()), n


def test_resume_with_a_weight_average_continues_exactly(tmp_path):
    straight, ema_a = _toy_training(tmp_path / "a", 0.05, epochs=3, ema_decay=0.9)
    _toy_training(tmp_path / "b", 0.05, epochs=1, ema_decay=0.9)
    resumed, ema_b = _toy_training(tmp_path / "b", 0.05, epochs=3, resume=True, ema_decay=0.9)
    assert ema_a.updates == ema_b.updates == 12
    for name, p in straight.named_parameters():
        assert np.array_equal(ema_a.shadow[name], ema_b.shadow[name]), name
        assert not np.array_equal(ema_a.shadow[name], p.numpy()), name   # it is an average
    with pytest.raises(CheckpointError, match=r"holds averages \[\], this run has \['model'\]"):
        _toy_training(tmp_path / "c", 0.05, epochs=1)
        _toy_training(tmp_path / "c", 0.05, epochs=2, resume=True, ema_decay=0.9)


def test_time_budget_stops_at_an_epoch_end_and_counts_resumed_segments(tmp_path):
    _toy_training(tmp_path / "a", 0.05, epochs=5, max_seconds=0.0)   # spent after epoch 1
    state = tinysr.load(tmp_path / "a" / "checkpoint.npz")
    assert state["train"]["epoch"] == 1
    _toy_training(tmp_path / "b", 0.05, epochs=2)
    first = json.loads(str(tinysr.load(tmp_path / "b" / "checkpoint.npz")["train"]["history"]))
    assert len(first["wall_seconds"]) == 2 and first["wall_seconds"][1] > first["wall_seconds"][0] > 0
    # a resumed run inherits the time already spent: a budget below it allows one more epoch
    _toy_training(tmp_path / "b", 0.05, epochs=5, resume=True, max_seconds=first["wall_seconds"][1] / 2)
    later = json.loads(str(tinysr.load(tmp_path / "b" / "checkpoint.npz")["train"]["history"]))
    assert len(later["wall_seconds"]) == 3 and later["wall_seconds"][2] > first["wall_seconds"][1]


def test_a_mid_epoch_time_budget_stops_at_the_first_step_and_closes_that_epoch(tmp_path):
    _toy_training(tmp_path / "a", 0.05, epochs=5, max_seconds=0.0, stop_mid_epoch=True)
    state = tinysr.load(tmp_path / "a" / "checkpoint.npz")
    history = json.loads(str(state["train"]["history"]))
    assert state["train"]["epoch"] == 1 and state["train"]["iteration"] == 1   # one step of the 4 in epoch 1
    assert history["eval_iteration"] == [] and len(history["wall_seconds"]) == 1


def test_weight_average_formula_and_swap():
    model = SRCNN(3, 1, 3, n1=2, n2=2, init_std=0.1)
    w0 = {n: p.numpy().copy() for n, p in model.named_parameters()}
    ema = tinysr.optim.EMA(model, decay=0.5)
    for n, p in model.named_parameters():
        p.data = p.data + 1.0
    ema.update()                                    # warm-up decay min(0.5, 2/11) = 2/11
    d = 2.0 / 11.0
    for n, p in model.named_parameters():
        np.testing.assert_allclose(ema.shadow[n], d * w0[n] + (1 - d) * (w0[n] + 1), rtol=1e-6)
    with ema.averaged():
        for n, p in model.named_parameters():
            np.testing.assert_array_equal(p.numpy(), ema.shadow[n])
    for n, p in model.named_parameters():           # the live weights come back
        np.testing.assert_array_equal(p.numpy(), (w0[n] + 1).astype(np.float32))
    with pytest.raises(ValueError):
        tinysr.optim.EMA(model, decay=1.0)


def test_divergence_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    _toy_training(tmp_path, 0.05, epochs=1)
    good = tinysr.load(tmp_path / "checkpoint.npz")
    with pytest.raises(TrainingDiverged, match=r"loss became nan in epoch 2 at iteration 7"):
        _toy_training(tmp_path, 0.05, epochs=3, resume=True, poison_from=1)
    kept = tinysr.load(tmp_path / "checkpoint.npz")
    assert kept["train"]["epoch"] == 1
    for name, value in good["modules"]["model"].items():
        assert np.array_equal(kept["modules"]["model"][name], value)


def test_smoke_a_few_hundred_iterations_beat_bicubic(tmp_path, monkeypatch, require_sets):
    """CI smoke: 12 T91 images, 400 Adam iterations: Set5 x3 at least 0.5 dB over bicubic.
    On the real data only: the scikit-image fallback photos would pass it without T91/Set5."""
    from tinysr.data import load_dataset
    from tinysr.training import srcnn
    require_sets("T91", "Set5")
    used = []

    def recording_load_dataset(*args, **kwargs):
        dataset = load_dataset(*args, **kwargs)
        used.append(dataset)
        return dataset
    monkeypatch.setattr(srcnn, "load_dataset", recording_load_dataset)
    summary = srcnn.train(recipe="fast", epochs=100, max_steps=400, batch=64, max_images=12, lr=3e-3,
                          out=str(tmp_path), progress=False, device="cpu")
    assert sorted(d.name for d in used) == ["Set5", "T91"]
    assert not any(d.is_sample for d in used), [(d.name, d.is_sample) for d in used]
    assert summary["iterations"] == 400
    assert summary["psnr"] >= summary["bicubic"] + 0.5, summary
    for figure in ("loss.png", "psnr.png", "crop.png"):
        assert (tmp_path / figure).stat().st_size > 1000
