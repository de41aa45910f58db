"""Saved classical models as evaluation upscalers: what ``tinysr eval --model FILE`` runs
when FILE holds a dictionary (ScSR, either code path, trained or imported) or an A+ model
rather than a network."""
from .. import checkpoint
from . import aplus, scsr, scsr_cvpr08

# checkpoint "method" tag -> (model class, f(model, lr, ilr) -> sr)
CLASSIC = {
    scsr.ScSRModel.METHOD: (scsr.ScSRModel, lambda m, lr, ilr: scsr.upscale(m, lr)),
    scsr_cvpr08.ScSRCVPR08Model.METHOD: (scsr_cvpr08.ScSRCVPR08Model,
                                         lambda m, lr, ilr: scsr_cvpr08.upscale(m, lr)),
    "aplus": (aplus.APlusModel, lambda m, lr, ilr: aplus.upscale(m, lr, mid=ilr)),
}


def load_classic(path, state=None):
    """(method, model, f(model, lr, ilr) -> sr) for a classical model file, or None if the
    file holds something else (a network: tinysr.models.registry reads those).
    ``state``: the file's already loaded checkpoint dict, to read it once."""
    state = checkpoint.load(path) if state is None else state
    method = state.get("method")
    if method not in CLASSIC:
        return None
    cls, run = CLASSIC[method]
    return method, cls.from_state(state, path), run


def mismatch_hint(path, method):
    """What to add to "cannot upscale x{scale}": for ScSR, the example that runs a dictionary
    at another zoom anyway (a ``str.format`` template with ``{scale}``)."""
    if method != scsr.ScSRModel.METHOD:
        return ""
    return ("; to run it at another zoom anyway, as the TIP package's Demo_SR.m does: "
            f"python examples/sparse_coding.py --model {path} --scale {{scale}}")
