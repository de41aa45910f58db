"""Optimiser updates (SGD with momentum, Adam): every version, on the GPU (CUDA) and the CPU
(Numba), by name, and what the library runs on each. No version exists on both sides and
none falls back. README.md has the table.
"""
from ..version_table import Table, Version

VERSIONS = (
    Version("per_element", "one thread per element", cuda=("sgd_step_v1", "adam_step_v1")),
    Version("grid_stride", "a grid-stride loop over at most 4096 blocks (about 4 elements a "
            "thread on big tensors)", cuda=("sgd_step_v2", "adam_step_v2")),
    Version("serial", "one serial fused loop over the flat parameter (p, g and the state "
            "read once, written once)", numba="sgd_step, adam_step"),
)

# What the library runs. Change a name here (and nowhere else) to switch.
DEFAULT = {"cuda": "grid_stride", "numba": "serial"}

TABLE = Table("optim_update", VERSIONS, DEFAULT)
