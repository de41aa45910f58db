"""Build models from names and configs, and rebuild them from checkpoints.

A model checkpoint is a ``tinysr.save`` file with
    model  the state_dict
    meta   {"model": registry name, "config": constructor kwargs, "scale": trained scale, ...}
so ``tinysr eval --model CKPT`` and ``tinysr upscale`` need nothing but the file.
"""
import warnings

import numpy as np

from tinysr import checkpoint
from tinysr.models.srcnn import SRCNN
from tinysr.models.vdsr import VDSR
from tinysr.tensor import no_grad, tensor

MODELS = {"srcnn": SRCNN, "vdsr": VDSR}


def build(name, config=None):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](**(config or {}))


def model_state(model, scale, **extra_meta):
    """The checkpoint dict for a trained model (add optimiser/training state beside it)."""
    meta = {"model": model.name, "config": dict(model.config), "scale": scale}
    meta.update(extra_meta)
    return {"model": model.state_dict(), "meta": meta}


def load_model(path, state=None):
    """(model, meta) from a checkpoint; errors name the file and what is wrong.
    ``state``: the file's already loaded checkpoint dict, to read it once."""
    state = checkpoint.load(path) if state is None else state
    meta = state.get("meta")
    if not isinstance(meta, dict) or "model" not in meta or "model" not in state:
        raise checkpoint.CheckpointError(f"{path}: a tinysr checkpoint, but not of a model "
                                         f"(no 'model' state and 'meta.model' name)")
    try:
        model = build(meta["model"], meta.get("config"))
        model.load_state_dict(state["model"])
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise checkpoint.CheckpointError(f"{path}: does not fit model {meta['model']!r}: {err}") from None
    bad = [name for name, p in model.named_parameters() if not np.isfinite(p.numpy()).all()]
    if bad:
        raise checkpoint.CheckpointError(f"{path}: non-finite (NaN/Inf) weights in {', '.join(bad[:3])}")
    return model.eval(), meta


def upscaler_from_checkpoint(path, scale, device="cpu", tile=None, state=None):
    """An evaluation upscaler ``f(lr, ilr, scale) -> sr`` (float64 Y in [0, 1])."""
    from tinysr.inference import super_resolve_y
    model, meta = load_model(path, state)
    model.to(device)
    trained = meta.get("scale")
    if trained is not None and not isinstance(trained, list) and trained != scale:
        warnings.warn(f"{path} was trained for x{trained}; evaluating it at x{scale}")

    def upscale(lr, ilr, s):
        return super_resolve_y(model, ilr, device=device, tile=tile)
    return upscale


def predict(model, x, device="cpu"):
    """Full-size model output for an (N, 1, H, W) float array, without a graph."""
    with no_grad():
        out = model(tensor(np.ascontiguousarray(x, dtype=np.float32), device=device), same=True)
    return out.numpy()
