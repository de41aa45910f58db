"""Layers, optimisers, clipping and schedules: a small conv net really learns."""
import numpy as np
import pytest

import tinysr
import tinysr.functional as F
from tinysr import nn, optim


def toy_problem(seed=0):
    """Learn a fixed random 3x3 filter from noise images."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 1, 12, 12)).astype(np.float32)
    k = rng.standard_normal((1, 1, 3, 3)).astype(np.float32) * 0.5
    y = F.conv2d(tinysr.tensor(x), tinysr.tensor(k), padding=1).numpy()
    return tinysr.tensor(x), tinysr.tensor(y)


def small_net(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(),
                         nn.Conv2d(8, 1, 3, padding=1, rng=rng))


@pytest.mark.parametrize("make_opt", [
    lambda p: optim.SGD(p, lr=0.02, momentum=0.9),
    lambda p: optim.Adam(p, lr=0.01),
], ids=["sgd", "adam"])
def test_small_conv_net_learns_a_toy_regression(make_opt):
    x, y = toy_problem()
    net = small_net()
    opt = make_opt(net.parameters())
    losses = []
    for _ in range(400):
        opt.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 100, (losses[0], losses[-1])


def test_parameter_groups_have_their_own_lr():
    a = nn.Parameter(np.ones(2, dtype=np.float32))
    b = nn.Parameter(np.ones(2, dtype=np.float32))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=1.0)
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(b.numpy(), [0.9, 0.9])


def test_sgd_momentum_and_weight_decay_match_the_formula():
    p = nn.Parameter(np.array([1.0], dtype=np.float64))
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    buf, value = 0.0, 1.0
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        d = 2 * value + 0.5 * value
        buf = 0.9 * buf + d
        value -= 0.1 * buf
    np.testing.assert_allclose(p.numpy(), [value])


def test_adam_matches_the_formula():
    p = nn.Parameter(np.array([0.5, -1.0], dtype=np.float64))
    opt = optim.Adam([p], lr=0.01)
    m = v = np.zeros(2)
    value = np.array([0.5, -1.0])
    for t in range(1, 4):
        opt.zero_grad()
        (p * p * p).sum().backward()
        opt.step()
        g = 3 * value ** 2
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        value = value - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(p.numpy(), value, rtol=1e-12)


def test_clipping():
    p = nn.Parameter(np.zeros(3, dtype=np.float64))
    p.grad = tinysr.tensor(np.array([3.0, -4.0, 0.5]), dtype="float64")
    optim.clip_grad_value_([p], 1.0)
    np.testing.assert_allclose(p.grad.numpy(), [1.0, -1.0, 0.5])
    p.grad = tinysr.tensor(np.array([3.0, 4.0, 0.0]), dtype="float64")
    assert optim.clip_grad_norm_([p], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(np.linalg.norm(p.grad.numpy()), 1.0, rtol=1e-5)
    opt = optim.SGD([p], lr=0.1)
    p.grad = tinysr.tensor(np.array([3.0, -0.05, 0.0]), dtype="float64")
    optim.clip_grad_adjustable_(opt, theta=0.01)      # bound = theta / lr = 0.1
    np.testing.assert_allclose(p.grad.numpy(), [0.1, -0.05, 0.0])


def test_schedules():
    p = nn.Parameter(np.zeros(1, dtype=np.float32))
    opt = optim.SGD([p], lr=1.0)
    step = optim.StepLR(opt, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(5):
        step.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [1.0, 0.1, 0.1, 0.01, 0.01])
    opt2 = optim.SGD([p], lr=0.8)
    halving = optim.HalvingLR(opt2, every=1)
    halving.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.4)
    opt3 = optim.SGD([p], lr=1.0)
    plateau = optim.ReduceLROnPlateau(opt3, factor=0.1, patience=2, min_lr=0.05)
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        plateau.step(metric)
    assert opt3.param_groups[0]["lr"] == pytest.approx(0.05)


def test_cosine_schedule_falls_from_the_start_to_the_floor_and_resumes():
    p = nn.Parameter(np.zeros(1, dtype=np.float32))
    opt = optim.SGD([p], lr=2.0)
    cosine = optim.CosineLR(opt, total=4, floor=0.1)
    lrs = []
    for _ in range(6):
        cosine.step()
        lrs.append(opt.param_groups[0]["lr"])
    # 0.1 + 0.9 * (1 + cos(pi k / 4)) / 2 of 2.0, held at the floor after the 4th step
    expected = [2.0 * (0.1 + 0.45 * (1 + np.cos(np.pi * min(k, 4) / 4))) for k in range(1, 7)]
    np.testing.assert_allclose(lrs, expected)
    assert lrs[1] == pytest.approx(1.1) and lrs[-1] == pytest.approx(0.2)
    first = optim.CosineLR(optim.SGD([p], lr=2.0), total=4, floor=0.1)
    first.step(), first.step()
    opt2 = optim.SGD([p], lr=2.0)
    resumed = optim.CosineLR(opt2, total=4, floor=0.1)
    resumed.load_state_dict(first.state_dict())      # a checkpoint taken after two epochs
    resumed.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(lrs[2])


def test_module_tree_state_dict_and_modes():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.LeakyReLU(0.2),
                        nn.ConvTranspose2d(2, 1, 2, stride=2), nn.Upsample(2), nn.Sigmoid(), nn.Tanh())
    names = [n for n, _ in net.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "layers.3.weight", "layers.3.bias"]
    state = net.state_dict()
    assert "layers.1.running_mean" in state
    x = tinysr.tensor(np.random.default_rng(0).standard_normal((2, 1, 6, 6)), dtype="float32")
    assert net(x).shape == (2, 1, 16, 16)
    net.eval()
    assert not net.layers[1].training
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.LeakyReLU(0.2),
                          nn.ConvTranspose2d(2, 1, 2, stride=2), nn.Upsample(2), nn.Sigmoid(), nn.Tanh())
    other.load_state_dict(net.state_dict())
    for (n1, a), (n2, b) in zip(sorted(net.state_dict().items()), sorted(other.state_dict().items())):
        assert n1 == n2 and np.array_equal(a, b)
    with pytest.raises(KeyError, match="missing"):
        other.load_state_dict({})


def test_identity_init_passes_channels_through():
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    nn.init.identity_(conv.weight)
    x = tinysr.tensor(np.random.default_rng(0).standard_normal((1, 3, 5, 5)), dtype="float32")
    np.testing.assert_allclose(conv(x).numpy(), x.numpy(), atol=1e-6)
