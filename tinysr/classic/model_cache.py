"""The model cache both classical methods share: load a trained model, or train and save it."""
from ..data.datasets import cache_dir


def cached_model(label, config, model_cls, train, retrain=False, progress=True):
    """``model_cls.load`` from ``$TINYSR_CACHE/models/<config.file_name()>``, else train and save."""
    path = cache_dir() / "models" / config.file_name()
    if path.exists() and not retrain:
        return model_cls.load(path)
    model = train(config, progress=progress)
    model.save(path)
    print(f"{label} x{config.scale}: saved {path}")
    return model
