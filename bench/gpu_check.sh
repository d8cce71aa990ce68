#!/usr/bin/env bash
# GPU check: on a machine with a GPU, prints the WebGPU adapter and times RD and RD + CCL
# training steps (and inference) at 64 and 256 px, batch 16, with WideResNet-50-2-sized random
# weights on the webgpu backend; writes results/gpu_check.json. Needs only Deno (WebGPU is
# built in). About a minute on a recent GPU; the first step of each size compiles shaders.
#
#   bash bench/gpu_check.sh                      # the real check
#   bash bench/gpu_check.sh --sizes 32 --batch 2 --backbone small_resnet:random \
#     --allow-software --out .cache/gpu_dry_run.json   # dry run on a software adapter
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi
exec deno run -A bench/gpu_check.ts "$@"
