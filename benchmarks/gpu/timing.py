"""GPU timing shared by the jobs: CUDA events after warm-up, the median of many runs."""
import numpy as np


def time_cupy(fn, reps, warmup=3):
    """Median ms of ``fn()`` on the GPU (cupyx.profiler.benchmark: CUDA events)."""
    from cupyx.profiler import benchmark
    r = benchmark(fn, n_repeat=reps, n_warmup=warmup)
    return float(np.median(r.gpu_times[0])) * 1e3


def time_torch(torch, fn, reps, warmup=3):
    """Median ms of ``fn()`` with torch.cuda events, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return float(np.median(times))


def load_torch():
    """(torch, torch.nn.functional) with cudnn.benchmark on, or (None, the reason)."""
    try:
        import torch
        import torch.nn.functional as tF
    except Exception as e:          # noqa: BLE001 - PyTorch is an optional peer
        return None, str(e)
    torch.backends.cudnn.benchmark = True
    return torch, tF
