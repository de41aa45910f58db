"""Models, one file per method; ``registry`` builds them from checkpoint metadata."""
from tinysr.models.drcn import DRCN  # noqa: F401
from tinysr.models.srcnn import SRCNN  # noqa: F401
from tinysr.models.vdsr import VDSR  # noqa: F401
