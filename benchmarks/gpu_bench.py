"""The old entry point of the GPU checks and benchmarks, kept for the commands in the docs:

    PYTHONPATH=. python benchmarks/gpu_bench.py --out OUTDIR [--budget 330] [--dry-run]

is ``python -m benchmarks.gpu`` (the jobs are benchmarks/gpu/*.py, one module each)."""
import sys

if __name__ == "__main__":
    try:
        from benchmarks.gpu.__main__ import main
    except ModuleNotFoundError as e:
        sys.exit(f"{e}: run from the repository root as python -m benchmarks.gpu, or with PYTHONPATH=.")
    sys.exit(main())
