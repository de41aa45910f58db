"""Benchmarks and device checks. The GPU jobs are a package, run from the repository root:
``python -m benchmarks.gpu --out DIR`` (benchmarks/gpu/__init__.py lists them); the CPU
scripts run as files (``python benchmarks/bench_conv.py``)."""
