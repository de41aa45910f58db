"""Checkpoints: bit-exact round trips, exact resume, and clear refusals."""
import pickle

import numpy as np
import pytest

import tinysr
import tinysr.functional as F
from tinysr import nn, optim


def build(seed=0):
    rng = np.random.default_rng(seed)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1, rng=rng))
    return net, optim.Adam(net.parameters(), lr=1e-2)


def batch(step):
    rng = np.random.default_rng(100 + step)
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    return tinysr.tensor(x), tinysr.tensor(np.roll(x, 1, axis=-1))


def train_step(net, opt, step):
    x, y = batch(step)
    opt.zero_grad()
    loss = F.mse_loss(net(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def test_save_load_round_trip_is_bit_exact(tmp_path):
    net, opt = build()
    train_step(net, opt, 0)
    state = {"model": net.state_dict(), "optimizer": opt.state_dict(), "step": 1,
             "meta": {"name": "toy", "config": {"width": 4}, "rng": np.random.default_rng(3).bit_generator.state}}
    path = tinysr.save(state, tmp_path / "ck.npz")
    back = tinysr.load(path)
    assert back["step"] == 1 and back["meta"]["config"] == {"width": 4}
    assert back["meta"]["rng"] == np.random.default_rng(3).bit_generator.state
    for name, value in state["model"].items():
        assert back["model"][name].dtype == value.dtype and np.array_equal(back["model"][name], value)
    for name, value in state["optimizer"]["arrays"].items():
        assert np.array_equal(back["optimizer"]["arrays"][name], value)


def test_resume_gives_the_same_next_step(tmp_path):
    net, opt = build()
    for step in range(3):
        train_step(net, opt, step)
    tinysr.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ck.npz")
    expected = [train_step(net, opt, step) for step in (3, 4)]

    resumed, ropt = build(seed=99)
    state = tinysr.load(tmp_path / "ck.npz")
    resumed.load_state_dict(state["model"])
    ropt.load_state_dict(state["optimizer"])
    got = [train_step(resumed, ropt, step) for step in (3, 4)]
    assert got == expected
    for (_, a), (_, b) in zip(net.named_parameters(), resumed.named_parameters()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_truncated_checkpoint_is_refused_and_names_the_file(tmp_path):
    path = tinysr.save({"model": {"w": np.ones(1000)}}, tmp_path / "ck.npz")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(tinysr.CheckpointError, match="ck.npz.*(truncated|corrupt)"):
        tinysr.load(path)


def test_pickled_and_foreign_files_are_refused(tmp_path):
    pickled = tmp_path / "evil.npz"
    pickled.write_bytes(pickle.dumps({"w": np.ones(3)}))
    with pytest.raises(tinysr.CheckpointError, match="evil.npz: a Python pickle.*never unpickles"):
        tinysr.load(pickled)
    objects = tmp_path / "objects.npz"
    np.savez(objects, __tinysr__=np.array('{"format": "tinysr-checkpoint", "version": 1, "state": {}}'),
             w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(tinysr.CheckpointError, match="objects.npz.*pickled"):
        tinysr.load(objects)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(tinysr.CheckpointError, match="foreign.npz.*not a tinysr checkpoint"):
        tinysr.load(foreign)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(tinysr.CheckpointError, match="notes.npz"):
        tinysr.load(text)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        tinysr.load(tmp_path / "missing.npz")


def test_save_is_atomic_on_failure(tmp_path):
    path = tinysr.save({"w": np.ones(3)}, tmp_path / "ck.npz")
    with pytest.raises(TypeError):
        tinysr.save({"w": np.array([object()], dtype=object)}, path)
    assert np.array_equal(tinysr.load(path)["w"], np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]
