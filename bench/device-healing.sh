#!/usr/bin/env bash
# Issue 21 (healing) on one GPU: the 48-layer GPT2-XL-shaped fine-tuning step with LoRA adapters
# (rank 8, every projection) beside full fine-tuning, in mixed precision, batch 16 × 128: peak
# GPU memory (peakGpuGb), ms per step and trainable parameters, one JSON line each.
#   pack first (on the development machine):  bash ../shared/device/pack.sh bench/train.ts
#   then on the device:                       bash bench/device-healing.sh
# The 48-layer checkpoint (6.2 GB) is written to /tmp once; both runs read it.
cd "$(dirname "$0")/.." || exit 1 # repository root
OUT=${OUT:-/tmp/healing-out}
mkdir -p "$OUT"
ckpt=/tmp/layercut-healing-checkpoints
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/machine.txt"
for lora in "--lora 8" ""; do
  echo "== GPT2-XL shape, 48 layers, ${lora:-full fine-tuning}" >&2
  timeout 280 bash .device/run.sh train.mjs --models xl:48 --shapes 16x128 --steps 3 --warmup 1 \
    --eval-batches 1 --precision mixed --dir "$ckpt" $lora 2>> "$OUT/layercut.err" | grep '^{' \
    | tee -a "$OUT/healing.jsonl"
done
