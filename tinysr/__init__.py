"""tinysr: single-image super-resolution from scratch on NumPy (CPU) and CuPy (GPU).

    import tinysr
    import tinysr.functional as F
    x = tinysr.tensor(array, requires_grad=True)

Layers, bottom up: backend (array primitives) -> ops (differentiable) -> nn -> optim ->
models -> training / evaluation -> cli. ``import tinysr`` never imports CuPy.
"""
import importlib.util as _importlib_util
import os as _os
import sys as _sys

from tinysr.tensor import Tensor, no_grad, tensor, is_grad_enabled  # noqa: F401
from tinysr import functional, nn, optim  # noqa: F401,E402
from tinysr.checkpoint import CheckpointError, load, save  # noqa: F401,E402
from tinysr.seeding import manual_seed  # noqa: F401,E402

__version__ = "0.1.0"


def _alias_dev_kernels():
    """In a source checkout, make ``tinysr.kernels`` the top-level ``kernels/`` folder.

    An installed tinysr ships that folder as ``tinysr/kernels`` (setup.py's package_dir),
    so this only runs when the code is used straight from the repository.
    """
    here = _os.path.dirname(_os.path.abspath(__file__))
    if _os.path.isdir(_os.path.join(here, "kernels")) or "tinysr.kernels" in _sys.modules:
        return
    folder = _os.path.join(_os.path.dirname(here), "kernels")
    init = _os.path.join(folder, "__init__.py")
    if not _os.path.isfile(init):
        return
    spec = _importlib_util.spec_from_file_location("tinysr.kernels", init,
                                                   submodule_search_locations=[folder])
    module = _importlib_util.module_from_spec(spec)
    _sys.modules["tinysr.kernels"] = module
    spec.loader.exec_module(module)


_alias_dev_kernels()
