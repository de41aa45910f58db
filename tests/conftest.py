"""Shared test setup: hypothesis profiles, and the one place GPU availability is decided."""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_gpu = None


def gpu_available():
    """Asked once, and only when a test marked ``gpu`` was collected."""
    global _gpu
    if _gpu is None:
        from tinysr.backend import cuda_available
        _gpu = cuda_available()
    return _gpu


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if gpu_items and not gpu_available():
        skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU; none found")
        for item in gpu_items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_scsr_model():
    """A small TIP ScSR dictionary (x2, 32 atoms) trained on three smooth random images."""
    import numpy as np
    from tinysr.classic import scsr
    from tinysr.data import imresize
    rng = np.random.default_rng(5)
    imgs = [np.clip(imresize(rng.uniform(0, 255, (10, 10)), scale=6), 0, 255).round().astype(np.uint8)
            for _ in range(3)]
    cfg = scsr.ScSRConfig(scale=2, n_atoms=32, n_samples=1500, n_iter=3)
    return scsr.train(cfg, imgs, progress=False, log=lambda *_: None)

