"""The model cache the classical methods share: load a trained model, or train and save it."""
from dataclasses import asdict

from ..data.datasets import cache_dir


def config_file_name(prefix, config):
    """``<prefix>_x<scale>.npz``, plus ``_<field><value>`` for every field that differs from
    the default config of that scale, so each recipe variant caches under its own name."""
    default = type(config)(scale=config.scale)
    diff = [f"{k}{v}" for k, v in asdict(config).items() if k != "scale" and v != getattr(default, k)]
    return f"{prefix}_x{config.scale}{'_' + '_'.join(diff) if diff else ''}.npz"


def cache_path(config):
    """Where the model trained with ``config`` is cached: ``$TINYSR_CACHE/models/<file name>``."""
    return cache_dir() / "models" / config.file_name()


def cached_model(label, config, model_cls, train, retrain=False, progress=True):
    """``model_cls.load`` from ``cache_path(config)``, else train and save."""
    path = cache_path(config)
    if path.exists() and not retrain:
        model = model_cls.load(path)
        if model.config == config:
            return model
        # e.g. a file written before a default changed: its name no longer says its recipe
        print(f"{label} x{config.scale}: {path} holds {model.config}, not the requested "
              f"{config}; retraining")
    model = train(config, progress=progress)
    model.save(path)
    print(f"{label} x{config.scale}: saved {path}")
    return model
