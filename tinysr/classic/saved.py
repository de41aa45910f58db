"""Saved classical models as evaluation upscalers: what ``tinysr eval --model FILE`` runs
when FILE holds a dictionary (ScSR, either code path, trained or imported) or an A+ model
rather than a network."""
from .. import checkpoint
from ..errors import ArgumentError
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


def scale_mismatch(path, method, model_scale, scale):
    """The error text for running a x{model_scale} dictionary file at x{scale}: a dictionary
    is tied to its scale; for ScSR it names the example that runs it at another zoom anyway."""
    hint = ("; to run it at another zoom anyway, as the TIP package's Demo_SR.m does: "
            f"python examples/sparse_coding.py --model {path} --scale {scale}"
            if method == scsr.ScSRModel.METHOD else "")
    return f"{path} is a x{model_scale} {method} model; it cannot upscale x{scale}{hint}"


def classic_upscaler(path, scale, state=None):
    """f(lr, ilr, scale) -> sr for a classical model file, or None (see load_classic)."""
    found = load_classic(path, state)
    if found is None:
        return None
    method, model, run = found
    if model.config.scale != scale:
        raise ArgumentError(scale_mismatch(path, method, model.config.scale, scale))
    return lambda lr, ilr, s: run(model, lr, ilr)
