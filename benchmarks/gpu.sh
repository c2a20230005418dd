#!/usr/bin/env bash
# The CUDA checks of issue 18 on a machine with a GPU: the tests marked `gpu` (bf16 training steps, a
# bit-for-bit resume, sampling and the metrics on CUDA, a one-process NCCL run), then every benchmark on CUDA,
# each benchmark's JSON written to OUT (default gpu-results/); data loading is CPU work and stays out.
#
#   bash benchmarks/gpu.sh [OUT]          # torch with CUDA must be installed (pip install torch, CUDA build)
#   GANFORGE_TEST_DEVICE=cpu python -m pytest -q -m gpu tests/test_cuda.py   # the same tests on the CPU
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-results}
PYTHON=${PYTHON:-python3}
if ! $PYTHON -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "benchmarks/gpu.sh: torch sees no CUDA device; run it on a GPU machine with a CUDA build of torch" >&2
  exit 2
fi
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.csv"
$PYTHON -m pytest -q -m gpu tests 2>&1 | tee "$out/tests.txt"
$PYTHON benchmarks/train_step.py --rounds 5 --steps 20 > "$out/train_step.json"
$PYTHON benchmarks/metrics.py --only=ddm_cuda > "$out/metrics_cuda.json"
$PYTHON benchmarks/ppgn.py > "$out/ppgn.json"
$PYTHON - "$out" <<'PY'
import json, sys
out = sys.argv[1]
step = json.load(open(f"{out}/train_step.json"))["presets"]["wgan-gp-mnist"]
ddm = json.load(open(f"{out}/metrics_cuda.json"))["ddm_cuda"]
print(json.dumps({"wgan_gp_mnist_ms_per_generator_step": 1000 / step["default_steps_per_s"],
                  "target_ms": 5, "ddm_50k_s": ddm.get("50000x50000x10", {}).get("timing"), "target_ddm_50k_ms": 50}))
PY
