"""Training: the generic loop (loop.py), its figures (figures.py), and per-method recipes."""
from tinysr.training.loop import TrainingDiverged, fit  # noqa: F401
