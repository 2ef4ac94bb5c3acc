#!/usr/bin/env bash
# Issue 9 (GPU speed) figures on one H200, in two device calls (each part stays under the
# 10-minute limit of a call; run them back to back so the checkpoints in /tmp survive):
#   pack first (on the development machine):  bash ../shared/device/pack.sh bench/train.ts bench/matmul.ts
#   then on the device:                       bash bench/device-issue9.sh 1   and then   bash bench/device-issue9.sh 2
# Part 1: matmul kernels (fp32 vs tensor cores, checked against the CPU model), layercut fine-tuning
# steps in fp32 and mixed precision. Part 2: the PyTorch peer on the same checkpoints (fp32, bf16),
# full GPT2-XL (48 layers) in both precisions, and the fast/plain/mixed accuracy comparison.
# JSON lines land in $OUT; `node --import tsx bench/train.ts --table …` makes the markdown.
# Each step has its own time limit, so a slow or failing one still leaves the others' lines.
cd "$(dirname "$0")/.." || exit 1 # repository root
OUT=${OUT:-/tmp/issue9-out}
mkdir -p "$OUT"
ckpt=/tmp/layercut-issue9-checkpoints
started=$(date +%s)
step() { echo "== $1 ($(($(date +%s) - started)) s in)" >&2; }
layercut() { timeout "$1" bash .device/run.sh train.mjs "${@:2}" 2>> "$OUT/layercut.err" | grep '^{'; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/machine.txt"
if [ "${1:-1}" = 1 ]; then
  step "matmul kernels"
  timeout 100 bash .device/run.sh matmul.mjs 2>> "$OUT/layercut.err" | grep '^{' | tee "$OUT/matmul.jsonl"
  for precision in fp32 mixed; do
    step "layercut $precision: GPT2-XL shape cut to 1, 2, 4, 12 layers, GPT-2 small shape cut to 2 and 12"
    layercut 220 --models xl:1,2,4,12+small:2,12 --shapes 16x128,1x128 --precision $precision --dir "$ckpt" \
      | tee -a "$OUT/layercut.jsonl"
  done
else
  step "PyTorch peer on the same checkpoints, fp32 and bf16"
  PYTHONUNBUFFERED=1 timeout 170 python3 bench/train_peer.py --models xl:1,2,4,12,48+small:2,12 \
    --shapes 16x128,1x128 --dir "$ckpt" 2> "$OUT/pytorch.err" | grep '^{' | tee "$OUT/pytorch.jsonl"
  for precision in mixed fp32; do
    step "layercut $precision: full GPT2-XL (48 layers), fewer steps"
    layercut 110 --models xl:48 --shapes 16x128,1x128 --steps 3 --warmup 1 --eval-batches 2 \
      --precision $precision --dir "$ckpt" | tee -a "$OUT/layercut.jsonl"
  done
  step "fast vs plain vs mixed: the same fine-tuning run, accuracies"
  timeout 150 bash .device/run.sh train.mjs --compare-plain 2>> "$OUT/layercut.err" | grep '^{' | tee "$OUT/compare.jsonl"
fi
grep -m1 '^backend' "$OUT/layercut.err" >> "$OUT/machine.txt" # a call brings back at most 8 files
step "done"
