"""The generic loop: any number of named modules, optimisers, schedules and averages,
checkpointed and resumed together; every named value logged. Here a toy two-network
game (the shape of a GAN: two models, two optimisers, three values per step)."""
import json

import numpy as np
import pytest

import tinysr
import tinysr.functional as F
from tinysr import nn, optim
from tinysr.checkpoint import CheckpointError
from tinysr.training.loop import TrainingDiverged, fit


def _two_player_run(out, epochs, resume=False):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((24, 1, 6, 6)).astype(np.float32)
    gen = nn.Conv2d(1, 1, 3, padding=1, rng=np.random.default_rng(1))
    critic = nn.Conv2d(1, 1, 3, padding=1, rng=np.random.default_rng(2))
    opt_g, opt_c = optim.Adam(gen.parameters(), lr=1e-2), optim.SGD(critic.parameters(), lr=1e-2, momentum=0.9)
    schedules = {"gen": optim.StepLR(opt_g, step_size=1, gamma=0.5)}
    averages = {"gen": optim.EMA(gen, 0.9)}

    def step(batch):
        x = tinysr.tensor(batch)
        opt_c.zero_grad()
        critic_loss = F.mse_loss(critic(gen(x).detach()), x)
        critic_loss.backward()
        opt_c.step()
        opt_g.zero_grad()
        fake = gen(x)
        gen_loss = F.mse_loss(critic(fake), x * 0.5)
        gen_loss.backward()
        opt_g.step()
        return {"critic": critic_loss.data, "gen": gen_loss.data, "l1": F.l1_loss(fake, x).data}

    def batches(epoch):
        order = np.random.default_rng((7, epoch)).permutation(len(data))
        return (data[order[i:i + 6]] for i in range(0, len(data), 6)), len(data)

    history = fit(step, batches, modules={"gen": gen, "critic": critic}, optimizers={"gen": opt_g, "critic": opt_c},
                  schedules=schedules, averages=averages, epochs=epochs, out_dir=out, meta={"toy": True},
                  resume=resume, progress=False, log_every=2,
                  evaluate=lambda: {"psnr": float(-gen.weight.numpy().std())})
    return gen, critic, averages["gen"], history


def test_two_models_resume_exactly_and_log_every_named_value(tmp_path):
    gen_a, critic_a, ema_a, history_a = _two_player_run(tmp_path / "a", epochs=3)
    _two_player_run(tmp_path / "b", epochs=1)
    gen_b, critic_b, ema_b, history_b = _two_player_run(tmp_path / "b", epochs=3, resume=True)
    for a, b in ((gen_a, gen_b), (critic_a, critic_b)):
        for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
            assert np.array_equal(p.numpy(), q.numpy()), name
    for name in ema_a.shadow:
        assert np.array_equal(ema_a.shadow[name], ema_b.shadow[name])
    assert history_a["iteration"] == history_b["iteration"] == [2, 4, 6, 8, 10, 12]
    for name in ("critic", "gen", "l1"):
        assert history_a[name] == history_b[name] and len(history_a[name]) == 6
    state = tinysr.load(tmp_path / "b" / "checkpoint.npz")
    assert set(state["modules"]) == set(state["optimizers"]) == {"gen", "critic"}
    assert int(state["schedules"]["gen"]["count"]) == 3 and float(state["schedules"]["gen"]["factor"]) == 0.125
    assert gen_b.weight is not None and ema_b.updates == 12
    assert json.loads(state["train"]["history"])["eval"][-1]["psnr"] == history_a["eval"][-1]["psnr"]


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path):
    _two_player_run(tmp_path, epochs=1)
    state = tinysr.load(tmp_path / "checkpoint.npz")
    del state["modules"]["critic"]
    tinysr.save(state, tmp_path / "checkpoint.npz")
    with pytest.raises(CheckpointError, match=r"holds modules \['gen'\], this run has \['critic', 'gen'\]"):
        _two_player_run(tmp_path, epochs=2, resume=True)


def test_a_non_finite_named_value_stops_the_run_and_names_it(tmp_path):
    model = nn.Conv2d(1, 1, 3, rng=np.random.default_rng(0))
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(batch):
        return {"loss": np.float32(1.0), "ratio": np.float32(np.inf) if batch[0, 0, 0, 0] > 1 else np.float32(0.5)}
    data = np.zeros((4, 1, 5, 5), np.float32)
    data[3] = 2.0
    with pytest.raises(TrainingDiverged, match="ratio became inf in epoch 1 at iteration 4"):
        fit(step, lambda e: ((data[i:i + 1] for i in range(4)), 4), modules={"m": model}, optimizers={"m": opt},
            epochs=1, out_dir=tmp_path, meta={}, progress=False)


def test_manual_seed_seeds_every_default_initialisation():
    tinysr.manual_seed(3)
    a = nn.Conv2d(2, 4, 3)
    tinysr.manual_seed(3)
    b = nn.Conv2d(2, 4, 3)
    c = nn.Conv2d(2, 4, 3)
    assert np.array_equal(a.weight.numpy(), b.weight.numpy())
    assert not np.array_equal(b.weight.numpy(), c.weight.numpy())


def test_missing_data_is_said_plainly():
    """Without T91 and Set5 both fall back to the same sample photos: the warning says so."""
    from tinysr.data import Dataset
    from tinysr.training.sr_task import check_training_data
    sample = Dataset("skimage-samples", arrays=[("a", np.zeros((8, 8), np.uint8))])
    real = Dataset("Set5", files=["x.png"])
    with pytest.warns(UserWarning, match="training on 1 scikit-image sample photos and scoring on the same "
                                         "photos, so the PSNR shows fitting, not generalisation.*TINYSR_DATA"):
        check_training_data(sample, sample)
    with pytest.warns(UserWarning) as record:
        check_training_data(sample, real)
    assert "scoring on the same" not in str(record[0].message)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_training_data(real, real)          # real data: no warning
