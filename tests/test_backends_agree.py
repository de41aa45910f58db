"""The numpy reference and the numba backend agree through whole-model gradients and an
optimiser step, driven only through the public API (tensors, nn, optim)."""
import numpy as np
import pytest

import tinysr
import tinysr.functional as F
from tinysr import nn, optim
from tinysr.backend import use_cpu_backend


def _net(seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2, padding_mode="replicate", rng=rng), nn.ReLU(),
        nn.Conv2d(8, 17, 3, stride=2, padding=1, rng=rng), nn.LeakyReLU(0.1),
        nn.Conv2d(17, 18, 3, padding=1, rng=rng), nn.ReLU(),   # C, O >= 16: the GEMM-per-tap kernels
        nn.Conv2d(18, 1, 3, rng=rng))


def _run(backend, dtype, make_opt):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 1, 15, 17)).astype(dtype)
    with use_cpu_backend(backend):
        net = _net(0)
        if dtype == np.float64:
            for p in net.parameters():
                p.data = p.data.astype(np.float64)
        out = net(tinysr.tensor(x, dtype=dtype))
        target = tinysr.tensor(rng.standard_normal(out.shape), dtype=dtype)
        loss = F.mse_loss(out, target)
        opt = make_opt(net.parameters())
        opt.zero_grad()
        loss.backward()
        grads = [p.grad.numpy().copy() for p in net.parameters()]
        opt.step()
        return loss.item(), grads, [p.numpy().copy() for p in net.parameters()]


@pytest.mark.parametrize("make_opt", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
                                      lambda p: optim.Adam(p, lr=1e-2)], ids=["sgd", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_and_numba_backends_agree_on_a_training_step(dtype, make_opt):
    loss_ref, grads_ref, params_ref = _run("numpy", dtype, make_opt)
    loss, grads, params = _run("numba", dtype, make_opt)
    tol = 1e-10 if dtype == np.float64 else 2e-4
    assert loss == pytest.approx(loss_ref, rel=tol)
    for g, r in zip(grads, grads_ref):
        assert g.dtype == r.dtype
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol * np.abs(r).max())
    for p, r in zip(params, params_ref):
        np.testing.assert_allclose(p, r, rtol=tol, atol=tol * np.abs(r).max())
