"""bias + activation: every version, on the GPU (CUDA) and the CPU (Numba), by name; what
the library runs on each; and, in one table, when a version runs another instead.
No version exists on both sides: README.md shows which is the nearest twin.
"""
from typing import NamedTuple

from ..version_table import Fallback, Table, Version


class BiasActCall(NamedTuple):
    """What the rules read: which pass runs ("forward" or "backward")."""
    direction: str


VERSIONS = (
    Version("per_element", "one thread per element (the channel by division); gb: C threads "
            "that each loop over a whole channel", cuda=("bias_act_fwd_v1", "bias_act_bwd_v1")),
    Version("per_channel", "forward: a (plane, chunk) grid, the bias read once a plane; "
            "backward: one 256-thread block per channel, gx and gb in one pass",
            cuda=("bias_act_fwd_v2", "bias_act_bwd_v2")),
    Version("split_channel", "backward: each channel's N*inner elements split over "
            "(channel, chunk) blocks, partial sums added in split order by a second kernel",
            cuda=("bias_act_bwd_v3", "bias_act_bwd_v3_reduce")),
    Version("per_plane", "one parallel iteration per (n, c) plane, forward and backward "
            "(gb: float64 per-plane sums, then over the planes)",
            numba="bias_act_forward, bias_act_backward"),
)

# What the library runs. Change a name here (and nowhere else) to switch.
DEFAULT = {"cuda": "per_channel", "numba": "per_plane"}

# Every fallback of this kernel: (side, version, when, runs instead, why).
FALLBACKS = (
    Fallback("cuda", "split_channel", lambda c: c.direction == "forward", "per_channel",
             "split_channel changes the backward only"),
)

TABLE = Table("bias_act", VERSIONS, DEFAULT, FALLBACKS)
