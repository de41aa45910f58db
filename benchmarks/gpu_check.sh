#!/usr/bin/env bash
# benchmarks/gpu_check.sh OUTDIR [OPTIONS]: every GPU check and benchmark of tinysr's CUDA
# kernels, and the GPU training stages, in one call, from the repository root:
#
#   PYTHONPATH=. bash benchmarks/gpu_check.sh "$OUT"                        the checks (1-4)
#   PYTHONPATH=. bash benchmarks/gpu_check.sh "$OUT" --no-checks --training the training stages (1, 6-8)
#
# The checks, within 450 s (about 5 minutes when the CuPy kernel cache is warm):
#   1. the card (nvidia-smi) and the software versions            -> OUTDIR/card.txt (always)
#   2. pytest -m gpu: every kernel version, the backend contract,
#      a training step that never synchronises with the host     -> OUTDIR/pytest_gpu.txt
#   3. python -m benchmarks.gpu (benchmarks/gpu/: one module per job): kernel versions vs the
#      float64 reference (f32, f64), SRCNN/VDSR training on cuda vs the CPU, the VDSR step
#      time and a per-primitive profile, conv forward and forward+backward vs cuDNN (strict
#      fp32, TF32)       -> OUTDIR/results.json, bench.csv, summary.md, verify.txt, gpu_bench.txt
#   4. with the time left (if the CUDA toolkit's compute-sanitizer is on this machine):
#      memcheck (out-of-bounds and misaligned device accesses) and racecheck (shared-memory
#      races, e.g. a missing barrier in a double buffer) over the small per-version GPU
#      tests in float32                                          -> OUTDIR/sanitizer.txt
#   --no-checks skips 2-4.
#
# Optional stages, after the checks:
#   5. --train-srcnn: SRCNN on the GPU with examples/train_srcnn.py (T91 -> Set5 x3, data
#      from $TINYSR_DATA): 9-5-5 with the fast recipe and 9-1-5 with the paper recipe, 100
#      epochs each; logs, figures and models packed into OUTDIR/srcnn_gpu_runs.tar.gz.
#   The training stages (--training: all three), within 570 s of their own:
#   6. --vdsr-fast: VDSR's fast recipe for up to 6 minutes (examples/train_vdsr.py
#      --max-minutes 6; limit 420 s): Set5 x2/x3/x4 and ms per step  -> OUTDIR/vdsr_fast/, .log
#   7. --drcn-step: one full-size DRCN training step (DRCN(256, 16), batch 64 of 41x41,
#      forward and backward) timed, and its peak GPU memory (limit 150 s)
#      (python -m benchmarks.gpu.drcn_step)                     -> OUTDIR/drcn_step.json, .log
#   8. --gan: the GAN's 1,500 iterations (examples/train_gan.py) with the time left of the
#      570 s (at most 300 s; skipped under 60)                  -> OUTDIR/gan/, gan.log
#   Data from $TINYSR_DATA: VDSR trains on 291 (T91 + BSD200) and scores Set5; the GAN
#   needs CelebA10k.
#
# Every stage is time-boxed and writes a row (stage | status | seconds | result) into
# OUTDIR/stages.md, printed at the end; a failing stage is recorded and the next one still
# runs, and a stage whose module is missing is skipped with a row that says so.
# A CPU smoke test of the training stages' command lines: TINYSR_CHECK_DEVICE=cpu, with
# VDSR_ARGS, DRCN_ARGS and GAN_ARGS appended to each command (e.g. "--max-steps 3").
set -u
USAGE="usage: bash benchmarks/gpu_check.sh OUTDIR [--no-checks] [--train-srcnn] [--training | --vdsr-fast --drcn-step --gan]"
OUT="${1:?$USAGE}"
shift
CHECKS=1 TRAIN_SRCNN=0 VDSR=0 DRCN=0 GAN=0
for flag in "$@"; do
  case "$flag" in
    --no-checks) CHECKS=0 ;;
    --train-srcnn) TRAIN_SRCNN=1 ;;
    --training) VDSR=1 DRCN=1 GAN=1 ;;
    --vdsr-fast) VDSR=1 ;;
    --drcn-step) DRCN=1 ;;
    --gan) GAN=1 ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
DEV="${TINYSR_CHECK_DEVICE:-cuda}"
TOTAL=450                                  # hard limit for the checks (1-4), seconds
TRAIN_TOTAL=570                            # hard limit for the training stages (6-8)
T0=$(date +%s)
left() { echo $(( TOTAL - ($(date +%s) - T0) )); }
since() { echo $(( $(date +%s) - $1 )); }
have() { "$PY" -c "import $1" >/dev/null 2>&1; }       # is a module there to run?
status() { case "$1" in 0) echo ok ;; 124|137) echo "timed out" ;; *) echo "failed (exit $1)" ;; esac; }
# row STAGE STATUS SECONDS RESULT: one line of the summary table ('|' in a result becomes '/')
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "${4//|//}" >> "$OUT/stages.md"; }
last_line() { grep -v '^\s*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-300; }
printf '| stage | status | seconds | result |\n|---|---|---|---|\n' > "$OUT/stages.md"

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
row "1 card" ok "$(since "$T0")" "$(grep -m 1 '^cupy' "$OUT/card.txt")"

if [ "$CHECKS" = 1 ]; then
  echo "== 2. pytest -m gpu  ($(left) s left)"
  T1=$(date +%s)
  # -o addopts=: one -q (pytest.ini adds another, which drops the "N passed" line)
  timeout 170 "$PY" -m pytest -m gpu tests -o addopts= -q -rfEs -p no:cacheprovider \
      --continue-on-collection-errors > "$OUT/pytest_gpu.txt" 2>&1
  rc=$?
  echo "pytest exit code $rc" >> "$OUT/pytest_gpu.txt"
  tail -n 25 "$OUT/pytest_gpu.txt"
  row "2 pytest -m gpu" "$(status $rc)" "$(since "$T1")" \
      "$(grep -E ' (passed|failed|errors?|skipped|deselected)' "$OUT/pytest_gpu.txt" | tail -n 1)"

  B=$(( $(left) - 20 ))
  if [ "$B" -lt 30 ]; then B=30; fi
  echo "== 3. kernels, training, benchmarks: python -m benchmarks.gpu  (budget ${B} s)"
  T1=$(date +%s)
  timeout $(( B + 15 )) "$PY" -m benchmarks.gpu --out "$OUT" --budget "$B" 2>&1 | tee "$OUT/gpu_bench.txt"
  rc=${PIPESTATUS[0]}
  echo "gpu_bench exit code $rc" | tee -a "$OUT/gpu_bench.txt"
  row "3 benchmarks.gpu" "$(status $rc)" "$(since "$T1")" "$("$PY" -m benchmarks.gpu.report "$OUT")"

  echo "== 4. compute-sanitizer  ($(left) s left)" | tee "$OUT/sanitizer.txt"
  T1=$(date +%s)
  SAN="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)"
  SMALL='f32] and not 4x64x41 and not 8x1x33 and not vdsr16'   # f32]: not tf32x3-f64
  if [ -z "$SAN" ]; then
    echo "compute-sanitizer not found: skipped" | tee -a "$OUT/sanitizer.txt"
    row "4 compute-sanitizer" skipped 0 "compute-sanitizer not found"
  else
    verdicts=""
    for tool in memcheck racecheck; do
      L=$(( $(left) - 15 )); [ "$L" -gt 150 ] && L=150
      if [ "$L" -lt 40 ]; then
        echo "$tool: skipped, $(left) s left" | tee -a "$OUT/sanitizer.txt"
        verdicts="$verdicts $tool skipped;"
        continue
      fi
      if [ "$tool" = memcheck ]; then K="$SMALL and (conv_versions or bias_act_versions or optim_versions)"
      else K="$SMALL and conv_versions and (-warp_tiles- or -tf32x3- or -winograd-) and 2x3x7x9"; fi
      echo "-- $tool (limit $L s): -k \"$K\"" >> "$OUT/sanitizer.txt"
      TINYSR_CUPY_NO_POOL=1 timeout "$L" "$SAN" --tool "$tool" --error-exitcode 99 --print-limit 20 \
          "$PY" -m pytest -m gpu tests/test_gpu.py -q -x -p no:cacheprovider -k "$K" \
          >> "$OUT/sanitizer.txt" 2>&1
      rc=$?
      echo "$tool exit code $rc (0: clean; 99: the sanitizer reported errors; 124: out of time)" \
          | tee -a "$OUT/sanitizer.txt"
      verdicts="$verdicts $tool exit $rc;"
    done
    row "4 compute-sanitizer" ok "$(since "$T1")" "${verdicts# } (0 clean, 99 errors, 124 out of time)"
  fi
fi

if [ "$TRAIN_SRCNN" = 1 ]; then
  echo "== 5. SRCNN training on the GPU (TINYSR_DATA=${TINYSR_DATA:-unset})"
  RUNS="$(mktemp -d)/runs"
  mkdir -p "$RUNS"
  for spec in "9-5-5 fast" "9-1-5 paper"; do
    set -- $spec
    name="srcnn_${1}_${2}"
    T1=$(date +%s)
    timeout 240 "$PY" examples/train_srcnn.py --device "$DEV" --variant "$1" --recipe "$2" \
        --epochs 100 --out "$RUNS/$name" > "$RUNS/$name.log" 2>&1
    rc=$?
    echo "$name: exit $rc after $(since "$T1") s"
    grep -E "^(SRCNN|done|epoch [0-9]+: psnr)" "$RUNS/$name.log" | tail -n 4
    row "5 $name" "$(status $rc)" "$(since "$T1")" "$("$PY" -m benchmarks.gpu.run_line "$RUNS/$name")"
  done
  tar -czf "$OUT/srcnn_gpu_runs.tar.gz" -C "$(dirname "$RUNS")" runs
fi

# ------------------------------------------------------------------ the training stages
TT=$(date +%s)
train_left() { echo $(( TRAIN_TOTAL - ($(date +%s) - TT) )); }
DRCN_LIMIT=150

if [ "$VDSR" = 1 ]; then
  echo "== 6. VDSR fast recipe on $DEV, up to 6 minutes  ($(train_left) s left)"
  T1=$(date +%s)
  if [ ! -f examples/train_vdsr.py ] || ! have tinysr.training.vdsr; then
    row "6 vdsr-fast" skipped 0 "examples/train_vdsr.py or tinysr.training.vdsr missing"
  else
    L=$(( $(train_left) - (DRCN == 1 ? DRCN_LIMIT : 0) )); [ "$L" -gt 420 ] && L=420
    timeout -k 10 "$L" "$PY" examples/train_vdsr.py --device "$DEV" --max-minutes 6 \
        --out "$OUT/vdsr_fast" --overwrite ${VDSR_ARGS:-} > "$OUT/vdsr_fast.log" 2>&1
    rc=$?
    grep -E "^(VDSR|done|epoch [0-9]+:)" "$OUT/vdsr_fast.log" | tail -n 3
    result="$("$PY" -m benchmarks.gpu.run_line "$OUT/vdsr_fast")"
    [ "$rc" = 0 ] || result="$result; log: $(last_line "$OUT/vdsr_fast.log")"
    row "6 vdsr-fast (Set5)" "$(status $rc)" "$(since "$T1")" "$result"
  fi
fi

if [ "$DRCN" = 1 ]; then
  echo "== 7. one DRCN(256, 16) training step on $DEV  ($(train_left) s left)"
  T1=$(date +%s)
  if ! have benchmarks.gpu.drcn_step || ! have tinysr.training.drcn; then
    row "7 drcn-step" skipped 0 "benchmarks/gpu/drcn_step.py or tinysr.training.drcn missing"
  else
    timeout -k 10 "$DRCN_LIMIT" "$PY" -m benchmarks.gpu.drcn_step --device "$DEV" \
        --json "$OUT/drcn_step.json" ${DRCN_ARGS:-} > "$OUT/drcn_step.log" 2>&1
    rc=$?
    tail -n 2 "$OUT/drcn_step.log"
    row "7 drcn-step" "$(status $rc)" "$(since "$T1")" "$(last_line "$OUT/drcn_step.log")"
  fi
fi

if [ "$GAN" = 1 ]; then
  L=$(( $(train_left) - 10 )); [ "$L" -gt 300 ] && L=300
  echo "== 8. the GAN's 1,500 iterations on $DEV  (limit $L s)"
  T1=$(date +%s)
  if [ ! -f examples/train_gan.py ] || ! have tinysr.training.gan; then
    row "8 gan" skipped 0 "examples/train_gan.py or tinysr.training.gan missing"
  elif [ "$L" -lt 60 ]; then
    row "8 gan" skipped 0 "$(train_left) s left of the training stages' $TRAIN_TOTAL"
  else
    timeout -k 10 "$L" "$PY" examples/train_gan.py --device "$DEV" --out "$OUT/gan" --overwrite \
        ${GAN_ARGS:-} > "$OUT/gan.log" 2>&1
    rc=$?
    grep -E "^(srez|done|epoch [0-9]+:)" "$OUT/gan.log" | tail -n 3
    result="$("$PY" -m benchmarks.gpu.run_line "$OUT/gan")"
    [ "$rc" = 0 ] || result="$result; log: $(last_line "$OUT/gan.log")"
    row "8 gan (test faces, RGB)" "$(status $rc)" "$(since "$T1")" "$result"
  fi
fi

echo "== done in $(since "$T0") s; results in $OUT"
cat "$OUT/stages.md"
