"""Shared test setup: hypothesis profiles, the one place GPU availability is decided, and the
one place tests find the project's shared fixture files (TINYSR_FIXTURES or --fixtures-dir)."""
import os
from pathlib import Path

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


def pytest_addoption(parser):
    parser.addoption("--fixtures-dir", metavar="DIR", default=None,
                     help="folder of the project's shared test fixtures (matlab_imresize/, ...); "
                          "default: $TINYSR_FIXTURES. Tests whose files are not there skip.")


def fixture_file(config, relpath, what):
    """The shared fixture file ``relpath``, or a skip that says what is needed and how to give it.

    The folder comes from ``--fixtures-dir`` or the ``TINYSR_FIXTURES`` variable; the tests
    assume no place of their own.
    """
    option = config.getoption("fixtures_dir")
    root, source = (option, "--fixtures-dir") if option else (os.environ.get("TINYSR_FIXTURES"),
                                                              "TINYSR_FIXTURES")
    if not root:
        pytest.skip(f"needs {what} ({relpath} from the project's shared fixtures); "
                    f"set TINYSR_FIXTURES=/path/to/fixtures or pass --fixtures-dir=/path/to/fixtures")
    path = Path(root).expanduser() / relpath
    if not path.is_file():
        pytest.skip(f"needs {what}: {source}={root} has no {relpath}; "
                    f"point it at the project's shared fixtures folder")
    return path


@pytest.fixture(scope="session")
def matlab_imresize_golden(pytestconfig):
    """Path of MATLAB's own imresize and rgb2ycbcr output for Set5 bird and butterfly (.npz)."""
    return fixture_file(pytestconfig, "matlab_imresize/set5_bird_butterfly.npz",
                        "the MATLAB imresize/rgb2ycbcr golden arrays")


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



@pytest.fixture
def require_sets():
    """``require_sets("T91", "Set5")``: skip unless the real sets are found (never the sample
    photos that stand in for missing data), saying how to provide them."""
    def require(*names):
        from tinysr.data import DatasetNotFound, data_roots, load_dataset
        for name in names:
            try:
                load_dataset(name, fallback=False)
            except DatasetNotFound:
                pytest.skip(f"needs the real {name} (searched {', '.join(map(str, data_roots()))}): set "
                            f"TINYSR_DATA=<folder holding {'/, '.join(names)}/>")
    return require
