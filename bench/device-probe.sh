#!/usr/bin/env bash
# Probe of the tensor-core matmul, fused AdamW and a per-kernel profile on the GPU machine
# (pack bench/train.ts bench/matmul.ts first).
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-/tmp/probe-out}; mkdir -p "$OUT"
fast=disable_robustness,skip_validation,disable_workgroup_init
echo "== matmul + AdamW checks"
timeout 100 bash .device/run.sh matmul.mjs 2>&1 | tee "$OUT/matmul.txt" | grep '^{\|rror' | head -40
for p in fp32 mixed; do
  for t in "" $fast; do
  echo "== train xl-shaped 4 $p $t"
  timeout 120 bash .device/run.sh train.mjs --layers 4 --shapes 16x128 --precision $p --steps 5 --eval-batches 2 --dir /tmp/ck --profile ${t:+--dawn-toggles $t} 2>&1 | tee -a "$OUT/train.txt" | grep '^{\|rror' | head
  echo "== train small-shaped 2 $p $t"
  timeout 60 bash .device/run.sh train.mjs --layers 2 --width 768 --heads 12 --label gpt2-small-shaped --shapes 16x128 --precision $p --steps 5 --eval-batches 2 --dir /tmp/ck --profile ${t:+--dawn-toggles $t} 2>&1 | tee -a "$OUT/train.txt" | grep '^{\|rror' | head
  done
done
