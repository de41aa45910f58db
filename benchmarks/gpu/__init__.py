"""GPU checks and benchmarks of tinysr's CUDA kernels, one module per job; run by
benchmarks/gpu_check.sh, from the repository root:

    python -m benchmarks.gpu --out OUTDIR [--budget 330] [--jobs env,verify,train,step,bench] [--dry-run]

  env      the card, CuPy / CUDA / PyTorch / cuDNN versions                     env.py
  verify   every CUDA version of every kernel against the float64 reference,
           float32 and float64, through the kernel folders' check helpers        verify.py
  train    SRCNN and VDSR by the library's recipes on the GPU and on the CPU
           reference backend, same seed and batches: the loss curves             train.py
  step     a VDSR and an SRCNN training step timed, and profiled per primitive   step.py
  bench    conv layers against cuDNN (fp32, TF32), the VDSR version ladder and
           mixes, the bias + ReLU backward                                       bench.py, bench_bias_act.py

The driver (__main__.py) gives each job a Context (context.py) and a time budget inside
one total budget; a job that fails or runs out of time is recorded and the next one runs.
Results: OUTDIR/results.json (rewritten after every job), summary.md and bench.csv
(report.py), verify.txt (every comparison), train/ (the training runs). ``--dry-run``
needs no GPU or CuPy: verify runs through the CPU emulator and train CPU against CPU.

drcn_step.py (one full-size DRCN step and its GPU memory) and run_line.py (one line from
a training run's folder) are gpu_check.sh's training stages.
"""
