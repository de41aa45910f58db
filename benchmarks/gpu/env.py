"""Job env: the card, CuPy, the CUDA runtime and driver, PyTorch and cuDNN versions."""
import platform
import sys

import numpy as np

from .context import log


def run(ctx, rec, deadline):
    rec.update(python=sys.version.split()[0], platform=platform.platform(), numpy=np.__version__)
    if ctx.dry_run:
        rec["device"] = "dry run (no GPU)"
        return
    import cupy
    dev = cupy.cuda.Device()
    props = cupy.cuda.runtime.getDeviceProperties(dev.id)
    name = props["name"]
    rec.update(device=name.decode() if isinstance(name, bytes) else name,
               sm_count=props.get("multiProcessorCount"),
               cc=f"{props.get('major')}.{props.get('minor')}",
               mem_gib=round(props.get("totalGlobalMem", 0) / 2**30, 1), cupy=cupy.__version__,
               cuda_runtime=cupy.cuda.runtime.runtimeGetVersion(),
               cuda_driver=cupy.cuda.runtime.driverGetVersion())
    try:
        import torch
        rec.update(torch=torch.__version__, cudnn=torch.backends.cudnn.version())
    except Exception as e:          # noqa: BLE001 - recorded, not fatal
        rec["torch"] = f"unavailable: {e}"
    log(f"   {rec['device']} (sm_{rec['cc'].replace('.', '')}, {rec['sm_count']} SMs, "
        f"{rec['mem_gib']} GiB), CuPy {rec['cupy']}, torch {rec.get('torch')}, "
        f"cuDNN {rec.get('cudnn')}")
