#!/usr/bin/env bash
# One-command device check: the CUDA tests, then CPU against CUDA side by side.
#
#   bash benchmarks/device_check.sh            # on a machine with CUDA: about 5-8 minutes
#   SCALE=0.05 bash benchmarks/device_check.sh # a smoke run (seconds of work per part)
#
# On a CPU-only machine it says so, runs the CPU parts and skips the CUDA tests.
# Results: results/bench_devices_cpu_cuda.md (or _cpu.md) with the CUDA/CPU ratio of every
# part, and results/bench_latency_cuda.md (or _cpu.md) with one window's predict latency on
# each device, measured in the same run. Set PYTHON to choose the interpreter, OUT the folder,
# BENCH_TIMEOUT the seconds the benchmark may take (default 300).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
SCALE=${SCALE:-1}
OUT=${OUT:-results}
status=0

if "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  "$PYTHON" -c "import torch; print('CUDA device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
  echo "== CUDA tests (pytest -m cuda)"
  timeout 240 "$PYTHON" -m pytest -q -p no:xdist -p no:cacheprovider -m cuda tests/ || status=1
else
  echo "No CUDA device on this machine: skipping the CUDA tests, measuring the CPU parts only."
fi

echo "== CPU against CUDA (benchmarks/bench_devices.py --scale $SCALE)"
timeout "${BENCH_TIMEOUT:-300}" "$PYTHON" benchmarks/bench_devices.py --scale "$SCALE" --out "$OUT"
rc=$?
if [ $rc -eq 124 ]; then
  echo "bench_devices.py ran past ${BENCH_TIMEOUT:-300} s and was stopped (raise BENCH_TIMEOUT, or lower SCALE)."
fi
[ $rc -eq 0 ] || status=1

# Prediction latency of one window at Myo's geometry, on every device here, in one run.
devices="cpu"
name="bench_latency_cpu"
if "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  devices="cpu cuda"
  name="bench_latency_cuda"
fi
repeats=$("$PYTHON" -c "print(max(3, round(100 * $SCALE)))")
batch=$("$PYTHON" -c "print(max(8, round(1024 * $SCALE)))")
echo "== Prediction latency (benchmarks/bench_latency.py --devices $devices)"
# shellcheck disable=SC2086
timeout "${BENCH_TIMEOUT:-300}" "$PYTHON" benchmarks/bench_latency.py --devices $devices \
  --geometries 8x52 --models stc tdct fin --repeats "$repeats" --batch "$batch" \
  --name "$name" --out "$OUT" || status=1
exit $status
