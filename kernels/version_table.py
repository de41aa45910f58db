"""A kernel's versions in one table: what each is called, on which side it exists (the CUDA
kernels, the Numba twins, or both), and, in one list, when a version runs another instead.

Each kernel folder's ``versions.py`` fills one ``Table`` in; the Numba wrappers
(``<kernel>_numba.py``) and the CUDA launch plans (``launch.py``) both ask it, so a version
name means one algorithm on both sides and no fallback hides in geometry code:

    plan = TABLE.plan("cuda", "winograd", shape)
    plan.runs      # "warp_tiles"
    plan.reason    # "winograd runs warp_tiles: winograd.cu is F(4x4, 3x3): stride-1 3x3 only
                   #  (here 5x5, stride 1)"

Pure Python: nothing here imports Numba or CuPy.
"""
from typing import Callable, NamedTuple, Optional, Tuple, Union

SIDES = ("cuda", "numba")


class Version(NamedTuple):
    """One algorithm. ``cuda``: the .cu entry points it launches (``()``: it runs other
    programs' entries, e.g. backward-input Winograd runs the forward's), None: no CUDA
    version. ``numba``: its function in ``<kernel>_numba.py``, None: no CPU version.
    ``tf32x3``: its float instantiations multiply on tensor cores with the 3xTF32 split
    (common.cuh section 7), so their results carry a larger rounding bound. ``rule``: a
    version that picks another one by the shape (the CPU "auto"): call -> (name, why)."""
    name: str
    summary: str
    cuda: Optional[Tuple[str, ...]] = None
    numba: Optional[str] = None
    tf32x3: bool = False
    rule: Optional[Callable] = None

    def on(self, side):
        return (self.cuda if side == "cuda" else self.numba) is not None


class Fallback(NamedTuple):
    """On ``side``, ``version`` runs ``runs`` instead when ``when(call)`` holds, because
    ``why`` (a format string over the call's fields, or call -> str). ``runs`` is a version
    name, or call -> (name, how) for a target that depends on the shape."""
    side: str
    version: str
    when: Callable
    runs: Union[str, Callable]
    why: Union[str, Callable]


class Plan(NamedTuple):
    """What a call runs: ``asked`` the version requested, ``runs`` the version that runs,
    ``reason`` why they differ ("" when the version runs as asked)."""
    asked: str
    runs: str
    reason: str


class Table:
    def __init__(self, kernel, versions, default, fallbacks=()):
        self.kernel = kernel
        self.versions = {v.name: v for v in versions}
        self.default = dict(default)                      # side -> version name
        self.fallbacks = tuple(fallbacks)
        for side, name in self.default.items():
            self.check(side, name)
        for fb in self.fallbacks:
            self.check(fb.side, fb.version)
            if isinstance(fb.runs, str):
                self.check(fb.side, fb.runs)

    def names(self, side):
        """The versions that exist on ``side``, in the table's order."""
        return tuple(n for n, v in self.versions.items() if v.on(side))

    def version(self, name):
        return self.versions[name]

    def check(self, side, name):
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {side!r}")
        v = self.versions.get(name)
        if v is None or not v.on(side):
            other = " (it exists on the other side only)" if v is not None else ""
            raise ValueError(f"{self.kernel} has no {side} version {name!r}{other}; "
                             f"choose one of {', '.join(self.names(side))}")
        return v

    def cuda_entries(self):
        """{version: the .cu entry points it compiles} for every CUDA version."""
        return {n: v.cuda for n, v in self.versions.items() if v.cuda is not None}

    def plan(self, side, name, call):
        """The version that runs for ``call`` (a ConvShape, or the kernel's call record)
        when ``name`` is asked on ``side``, and why: the version's rule (CPU auto) first,
        then every matching fallback in turn, until none applies."""
        v = self.check(side, name)
        steps, runs = [], name
        if v.rule is not None:
            runs, why = v.rule(call)
            steps.append(f"{name} picks {runs}: {why}")
        for _ in range(len(self.fallbacks) + 1):
            fb = next((f for f in self.fallbacks
                       if f.side == side and f.version == runs and f.when(call)), None)
            if fb is None:
                break
            why = fb.why(call) if callable(fb.why) else fb.why.format(**call._asdict())
            if callable(fb.runs):
                target, how = fb.runs(call)
                why = f"{why}: {how}"
            else:
                target = fb.runs
            steps.append(f"{runs} runs {target}: {why}")
            runs = target
        self.check(side, runs)
        return Plan(name, runs, "; ".join(steps))
