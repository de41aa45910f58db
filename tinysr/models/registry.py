"""Build models from names and configs, and rebuild them from checkpoints.

A model checkpoint is a ``tinysr.save`` file with
    model  the state_dict
    meta   {"model": registry name, "config": constructor kwargs, "scale": trained scale, ...}
so ``tinysr eval --model CKPT`` and ``tinysr upscale`` need nothing but the file. A training
checkpoint (tinysr.training.loop) works too: its module "model", with the weight average
when the run kept one. Running models on images is tinysr.inference's job, not this file's.
"""
import numpy as np

from tinysr import checkpoint
from tinysr.models.drcn import DRCN
from tinysr.models.srcnn import SRCNN
from tinysr.models.srez import Generator
from tinysr.models.vdsr import VDSR

MODELS = {"srcnn": SRCNN, "vdsr": VDSR, "drcn": DRCN, "srez_generator": Generator}


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
    meta, weights = state.get("meta"), _weights(state)
    if not isinstance(meta, dict) or "model" not in meta or not isinstance(weights, dict):
        raise checkpoint.CheckpointError(f"{path}: a tinysr checkpoint, but not of a model "
                                         f"(no 'model' state and 'meta.model' name)")
    try:
        model = build(meta["model"], meta.get("config"))
        model.load_state_dict(weights)
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise checkpoint.CheckpointError(f"{path}: does not fit model {meta['model']!r}: {err}") from None
    bad = [name for name, p in model.named_parameters() if not np.isfinite(p.numpy()).all()]
    if bad:
        raise checkpoint.CheckpointError(f"{path}: non-finite (NaN/Inf) weights in {', '.join(bad[:3])}")
    return model.eval(), meta


def _weights(state):
    """The model's state_dict: a model file's "model", or a training checkpoint's module
    "model" (its weight average when it has one: the weights that were evaluated)."""
    if "model" in state:
        return state["model"]
    average = (state.get("averages") or {}).get("model")
    if isinstance(average, dict) and isinstance(average.get("shadow"), dict):
        return average["shadow"]
    return (state.get("modules") or {}).get("model")
