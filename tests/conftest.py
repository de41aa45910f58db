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
