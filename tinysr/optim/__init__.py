"""``tinysr.optim``: SGD, Adam, gradient clipping, learning-rate schedules, weight averaging."""
from tinysr.optim.ema import EMA  # noqa: F401
from tinysr.optim.clip import clip_grad_adjustable_, clip_grad_norm_, clip_grad_value_  # noqa: F401
from tinysr.optim.optimizer import SGD, Adam, Optimizer  # noqa: F401
from tinysr.optim.schedule import CosineLR, HalvingLR, ReduceLROnPlateau, StepLR  # noqa: F401
