#!/usr/bin/env bash
# benchmarks/gpu_check.sh OUTDIR: every GPU check and benchmark of tinysr's CUDA kernels,
# in one call that finishes within 8 minutes (about 5 when the CuPy kernel cache is warm).
#
#   PYTHONPATH=. bash benchmarks/gpu_check.sh "$OUT"        (from the repository root)
#
#   1. the card (nvidia-smi) and the software versions            -> OUTDIR/card.txt
#   2. pytest -m gpu: every kernel version, the backend contract,
#      a training step that never synchronises with the host     -> OUTDIR/pytest_gpu.txt
#   3. benchmarks/gpu_bench.py: kernel versions vs numpy_ref (f32, f64), SRCNN/VDSR training
#      on cuda vs the CPU, the VDSR step time and a per-primitive profile, conv forward and
#      forward+backward vs cuDNN (strict fp32, TF32)   -> OUTDIR/results.json, bench.csv,
#                                                         summary.md, gpu_bench.txt
#   4. with the time left (if the CUDA toolkit's compute-sanitizer is on this machine):
#      memcheck (out-of-bounds and misaligned device accesses) and racecheck (shared-memory
#      races, e.g. a missing barrier in a double buffer) over the small per-version GPU
#      tests in float32                                          -> OUTDIR/sanitizer.txt
# Every step is time-boxed; a failing step is recorded and the next one still runs.
#
# Optional, after the checks:  bash benchmarks/gpu_check.sh OUTDIR --train-srcnn
#   5. trains SRCNN on the GPU with examples/train_srcnn.py (T91 -> Set5 x3, data from
#      $TINYSR_DATA): 9-5-5 with the fast recipe and 9-1-5 with the paper recipe, 100 epochs
#      each; logs, figures and models packed into OUTDIR/srcnn_gpu_runs.tar.gz.
set -u
OUT="${1:?usage: bash benchmarks/gpu_check.sh OUTDIR [--train-srcnn]}"
TRAIN_SRCNN="${2:-}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
TOTAL=450                                  # hard limit for the whole script, seconds
T0=$(date +%s)
left() { echo $(( TOTAL - ($(date +%s) - T0) )); }

echo "== 1. card" | tee "$OUT/card.txt"
{
  timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit \
      --format=csv 2>&1 || echo "nvidia-smi unavailable"
  timeout 60 "$PY" - <<'PYEOF' 2>&1
import platform, numpy
print("python", platform.python_version(), "numpy", numpy.__version__)
try:
    import cupy
    d = cupy.cuda.runtime.getDeviceProperties(0)
    print("cupy", cupy.__version__, "| device", d["name"].decode(), "| SMs", d["multiProcessorCount"],
          "| cc %d.%d" % (d["major"], d["minor"]), "| runtime", cupy.cuda.runtime.runtimeGetVersion())
except Exception as e:
    print("cupy unavailable:", e)
try:
    import torch
    print("torch", torch.__version__, "| cuda", torch.version.cuda, "| cudnn", torch.backends.cudnn.version())
except Exception as e:
    print("torch unavailable:", e)
PYEOF
} 2>&1 | tee -a "$OUT/card.txt"

echo "== 2. pytest -m gpu  ($(left) s left)"
timeout 170 "$PY" -m pytest -m gpu tests -q -rfEs -p no:cacheprovider --continue-on-collection-errors \
    > "$OUT/pytest_gpu.txt" 2>&1
echo "pytest exit code $?" >> "$OUT/pytest_gpu.txt"
tail -n 25 "$OUT/pytest_gpu.txt"

B=$(( $(left) - 20 ))
if [ "$B" -lt 30 ]; then B=30; fi
echo "== 3. kernels, training, benchmarks  (budget ${B} s)"
timeout $(( B + 15 )) "$PY" benchmarks/gpu_bench.py --out "$OUT" --budget "$B" 2>&1 \
    | tee "$OUT/gpu_bench.txt"
echo "gpu_bench exit code ${PIPESTATUS[0]}" | tee -a "$OUT/gpu_bench.txt"

echo "== 4. compute-sanitizer  ($(left) s left)" | tee "$OUT/sanitizer.txt"
SAN="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)"
SMALL='f32] and not 4x64x41 and not 8x1x33 and not vdsr16'   # f32]: not tf32x3-f64
if [ -z "$SAN" ]; then
  echo "compute-sanitizer not found: skipped" | tee -a "$OUT/sanitizer.txt"
else
  for tool in memcheck racecheck; do
    L=$(( $(left) - 15 )); [ "$L" -gt 150 ] && L=150
    if [ "$L" -lt 40 ]; then echo "$tool: skipped, $(left) s left" | tee -a "$OUT/sanitizer.txt"; continue; fi
    if [ "$tool" = memcheck ]; then K="$SMALL and (conv_versions or bias_act_versions or optim_versions)"
    else K="$SMALL and conv_versions and (-warp_tiles- or -tf32x3- or -winograd-) and 2x3x7x9"; fi
    echo "-- $tool (limit $L s): -k \"$K\"" >> "$OUT/sanitizer.txt"
    TINYSR_CUPY_NO_POOL=1 timeout "$L" "$SAN" --tool "$tool" --error-exitcode 99 --print-limit 20 \
        "$PY" -m pytest -m gpu tests/test_gpu.py -q -x -p no:cacheprovider -k "$K" \
        >> "$OUT/sanitizer.txt" 2>&1
    echo "$tool exit code $? (0: clean; 99: the sanitizer reported errors; 124: out of time)" \
        | tee -a "$OUT/sanitizer.txt"
  done
fi

if [ "$TRAIN_SRCNN" = "--train-srcnn" ]; then
  echo "== 5. SRCNN training on the GPU (TINYSR_DATA=${TINYSR_DATA:-unset})"
  RUNS="$(mktemp -d)/runs"
  mkdir -p "$RUNS"
  for spec in "9-5-5 fast" "9-1-5 paper"; do
    set -- $spec
    name="srcnn_${1}_${2}"
    T1=$(date +%s)
    timeout 240 "$PY" examples/train_srcnn.py --device cuda --variant "$1" --recipe "$2" \
        --epochs 100 --out "$RUNS/$name" > "$RUNS/$name.log" 2>&1
    echo "$name: exit $? after $(( $(date +%s) - T1 )) s"
    grep -E "^(SRCNN|done|epoch [0-9]+: psnr)" "$RUNS/$name.log" | tail -n 4
  done
  tar -czf "$OUT/srcnn_gpu_runs.tar.gz" -C "$(dirname "$RUNS")" runs
fi
echo "== done in $(( $(date +%s) - T0 )) s; results in $OUT"
