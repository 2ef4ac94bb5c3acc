#!/usr/bin/env bash
# Issue 9 (GPU speed) figures in one device call, about 7 minutes on one H200: layercut on
# webgpu and PyTorch on the same shapes and the same random checkpoints, then a markdown block
# for bench/RESULTS.md in $OUT/results.md (raw JSON lines beside it).
#   pack first (on the development machine):  bash ../shared/device/pack.sh bench/train.ts
#   then on the device:                       bash bench/device-issue9.sh
# Each part has its own time limit, so a slow or failing part still leaves the others' lines.
cd "$(dirname "$0")/.." || exit 1 # repository root
OUT=${OUT:-/tmp/issue9-out}
mkdir -p "$OUT"
ckpt=/tmp/layercut-issue9-checkpoints
started=$(date +%s)
part() { echo "== $1 ($(($(date +%s) - started)) s in)" >&2; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/machine.txt"

part "layercut: GPT2-XL shape cut to 1, 2, 4, 12 layers and GPT-2 small, batches 16x128 and 1x128 (writes the checkpoints)"
timeout 190 bash .device/run.sh train.mjs --models xl:1,2,4,12+small:12 --shapes 16x128,1x128 --dir "$ckpt" \
  2> >(tee "$OUT/layercut.err" >&2) | grep '^{' | tee "$OUT/layercut.jsonl"

part "PyTorch peer on the same checkpoints, fp32 and bf16"
PYTHONUNBUFFERED=1 timeout 140 python3 bench/train_peer.py --models xl:1,2,4,12,48+small:12 \
  --shapes 16x128,1x128 --dir "$ckpt" 2> "$OUT/pytorch.err" | grep '^{' | tee "$OUT/pytorch.jsonl"

part "layercut: full GPT2-XL (48 layers), fewer steps"
timeout 120 bash .device/run.sh train.mjs --models xl:48 --shapes 16x128,1x128 --steps 3 --warmup 1 \
  --eval-batches 2 --dir "$ckpt" 2> >(tee -a "$OUT/layercut.err" >&2) | grep '^{' | tee -a "$OUT/layercut.jsonl"

part "fast vs plain paths: the same fine-tuning run, both accuracies"
timeout 75 bash .device/run.sh train.mjs --compare-plain 2>> "$OUT/layercut.err" | grep '^{' | tee "$OUT/compare.jsonl"

part "layercut plain paths (LAYERCUT_PLAIN_OPS) on two cuts, for the speed-up"
timeout 45 bash .device/run.sh train.mjs --plain --models xl:2,12 --shapes 16x128,1x128 --steps 3 --warmup 1 \
  --eval-batches 2 --dir "$ckpt" 2>> "$OUT/layercut.err" | grep '^{' | tee -a "$OUT/layercut.jsonl"

part "markdown"
{
  echo "- Date: $(date -u +%Y-%m-%d). Machine: $(head -1 "$OUT/machine.txt"), one device call."
  echo "- layercut: $(grep -m1 '^backend' "$OUT/layercut.err" | cut -c1-200)"
  echo "- PyTorch: $(head -1 "$OUT/pytorch.jsonl" | sed 's/.*"impl": "\([^"]*\)".*/\1/')"
  echo "- Command: \`bash ../shared/device/pack.sh bench/train.ts\`, then on the device \`bash bench/device-issue9.sh\`."
  echo "  Random GPT-2-shaped checkpoints written by bench/train.ts (warm page cache); prompt-based"
  echo "  fine-tuning step (lm objective, AdamW), median over queued steps; load = files to host"
  echo "  tensors (+ host to GPU); uploads = host tensors per step (GPU uploads)."
  echo
  bash .device/run.sh train.mjs --table "$OUT/layercut.jsonl" "$OUT/pytorch.jsonl" "$OUT/compare.jsonl"
} > "$OUT/results.md" 2>> "$OUT/layercut.err"
cat "$OUT/results.md"
part "done"
