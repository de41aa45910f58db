"""The kernels ship inside the package: both a regular and an editable install can read them.

Both installs are built the way the README's `pip install -e ".[dev]"` is built in a venv as
`python3 -m venv` makes it: pip builds in an isolated environment into which it installs
setuptools and wheel from the index. With `--no-build-isolation` the build would run on the
venv's own setuptools, which without the `wheel` package fails ("invalid command
'bdist_wheel'"), and the README installs no `wheel`.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
READ_KERNEL = (
    "import importlib.resources as r, tinysr, sys; "
    "src = (r.files('tinysr.kernels') / 'conv2d_fwd' / 'conv2d_fwd.cu').read_text(); "
    "assert '__global__' in src; "
    "assert (r.files('tinysr.kernels') / 'common.cuh').read_text(); "
    "from tinysr.backend import cuda_loader; "
    "assert all('__global__' in cuda_loader.source(k) for k in cuda_loader.KERNELS); "
    "assert 'conv2d_fwd_v6_gemm' in cuda_loader.source('conv2d_fwd'); "
    "print(tinysr.__file__)"
)


def _have_cu_files():
    return (REPO / "kernels" / "conv2d_fwd" / "conv2d_fwd.cu").exists()


@pytest.fixture(scope="module")
def env_python(tmp_path_factory):
    """A venv that sees this interpreter's packages (numpy, ...) but not tinysr itself."""
    folder = tmp_path_factory.mktemp("venv")
    venv.create(folder, with_pip=False, system_site_packages=True)
    # The kernel check imports tinysr, which needs numpy, numba, ...: a path line in a .pth
    # file lends the venv this interpreter's packages. The .pth files inside that folder
    # are not run, so this interpreter's own (editable) tinysr stays unseen.
    site = next((folder / "lib").glob("python*/site-packages"))
    (site / "_this_interpreter.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin" / "python"


def _pip_install(*args, python=None, cwd=REPO):
    """`pip install --no-deps` with pip's default (isolated) build, as the README's install."""
    into = ["--python", str(python)] if python else []
    cmd = [sys.executable, "-m", "pip", *into, "install", "--quiet", "--no-deps", *args]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


def _clean_copy(dest):
    """The source tree without build outputs: setuptools builds in the source folder, and a
    stale build/lib there could ship files that the package data no longer names."""
    junk = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                  ".hypothesis", ".pytest_cache", ".cache", "runs", "out")
    shutil.copytree(REPO, dest, ignore=junk)
    return dest


@pytest.mark.skipif(not _have_cu_files(), reason="no .cu kernel sources in this checkout")
def test_regular_install_ships_kernel_sources(tmp_path):
    target = tmp_path / "site"
    _pip_install("--target", str(target), str(_clean_copy(tmp_path / "src")), cwd=tmp_path)
    assert (target / "tinysr" / "kernels" / "conv2d_fwd" / "conv2d_fwd.cu").exists()
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", READ_KERNEL], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert str(target) in out.stdout


@pytest.mark.skipif(not _have_cu_files(), reason="no .cu kernel sources in this checkout")
def test_editable_install_reads_kernel_sources(tmp_path, env_python):
    before = subprocess.run([str(env_python), "-c", "import tinysr"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert before.returncode != 0, "the test venv already sees a tinysr: " + before.stdout
    _pip_install("-e", str(REPO), python=env_python, cwd=tmp_path)
    out = subprocess.run([str(env_python), "-c", READ_KERNEL], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert str(REPO / "tinysr") in out.stdout


def test_import_tinysr_does_not_import_cupy():
    code = "import sys, tinysr, tinysr.nn, tinysr.optim; assert 'cupy' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_kernel_folders_refuse_a_top_level_import():
    """`import kernels` from the repository root would poison Numba's cache for tinysr.kernels."""
    out = subprocess.run([sys.executable, "-c", "import kernels.conv2d_fwd.reference"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "import them as tinysr.kernels" in out.stderr, out.stderr
    ok = subprocess.run([sys.executable, "-c", "import tinysr.kernels.conv2d_fwd.reference"], cwd=REPO,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
