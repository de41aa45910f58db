"""One line for gpu_check.sh's summary table from a training run's folder: its last
evaluation and its time per step, read from the run's checkpoint.

    python -m benchmarks.gpu.run_line OUT/vdsr_fast
    -> x2 37.06 / x3 33.10 / x4 30.81 dB (bicubic 33.66 / 30.39 / 28.42); 40 epochs, 20000 steps,
       6.1 ms/step (epochs 2-40), 5.2 min

ms/step is the loop's time per epoch (batches drawn and stepped; evaluation and checkpoint
excluded) over its steps, from the second epoch on: the first compiles the kernels.
"""
import json
import os
import sys

import numpy as np


def scores(last):
    """The evaluation beside bicubic: per scale (VDSR) or one PSNR (SRCNN, DRCN, the GAN)."""
    scales = sorted(k for k in last if k[:1] == "x" and k[1:].isdigit())
    if scales:
        return (" / ".join(f"{k} {last[k]:.2f}" for k in scales) + " dB (bicubic "
                + " / ".join(f"{last.get('bicubic_' + k, float('nan')):.2f}" for k in scales) + ")")
    if "psnr" in last:
        return f"PSNR {last['psnr']:.2f} dB (bicubic {last.get('bicubic', float('nan')):.2f})"
    return "no evaluation"


def step_ms(history):
    """(ms per step, which epochs): epochs 2.. when there are two or more, else epoch 1."""
    seconds, ends = history["epoch_seconds"], history["eval_iteration"]
    if len(ends) != len(seconds) or not seconds:       # no per-epoch steps: the whole run
        return 1e3 * sum(seconds) / max(history["iteration"][-1], 1), "all"
    steps = np.diff([0] + ends)
    first = 1 if len(seconds) > 1 else 0
    ms = 1e3 * sum(seconds[first:]) / max(int(steps[first:].sum()), 1)
    return ms, f"epochs {first + 1}-{len(seconds)}" if first else "epoch 1, with compilation"


def summarize(folder):
    from tinysr import checkpoint
    state = checkpoint.load(os.path.join(folder, "checkpoint.npz"))
    history = json.loads(state["train"]["history"])
    if not history["iteration"]:
        return "no steps recorded"
    last = history["eval"][-1] if history["eval"] else {}
    ms, which = step_ms(history)
    return (f"{scores(last)}; {len(history['epoch_seconds'])} epochs, {history['iteration'][-1]} steps, "
            f"{ms:.1f} ms/step ({which}), {history['wall_seconds'][-1] / 60:.1f} min")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m benchmarks.gpu.run_line RUN_FOLDER", file=sys.stderr)
        return 2
    try:
        print(summarize(argv[0]))
    except Exception as e:          # noqa: BLE001 - one line for the table either way
        print(f"no summary: {type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
